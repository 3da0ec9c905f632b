import Foundation

/// Problems found before or during training and evaluation: one line naming the file or field, the
/// value seen and what was expected.
public enum TrainingError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case missingFeatureStore(path: String, preset: String, dataset: String)
    case staleFeatureStore(path: String, storeManifests: String, manifests: String)
    case missingFeatures(path: String, ids: [String], total: Int)
    case audioChanged(path: String, id: String, store: String, manifest: String)
    case featureWidth(path: String, width: Int, student: String, expected: Int)
    case frameCounts(path: String, id: String, frames: Int, expected: Int)
    case tooFewFrames(path: String, id: String, shape: [Int], student: String, minimum: Int)
    case emptySplit(path: String, split: String)
    case teacherCache(path: String, reason: String)
    case checkpoint(path: String, reason: String)
    /// A training-config value that cannot be used with the rest (the key named).
    case config(field: String, reason: String)
    /// A feature store whose description is unusable.
    case featureStore(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingFeatureStore(path, preset, dataset):
            return
                "\(path): no feature store for preset '\(preset)'; compute it with `tkd features --dataset "
                + "\(dataset) --preset \(preset)`"
        case let .staleFeatureStore(path, store, manifests):
            return
                "\(path): stale feature store: computed for manifests \(store.prefix(12))…, the dataset's manifests "
                + "are now \(manifests.prefix(12))…; recompute it with `tkd features`"
        case let .missingFeatures(path, ids, total):
            return
                "\(path): \(total) example(s) of the manifests have no features (first: "
                + "\(ids.prefix(3).joined(separator: ", "))); the store is incomplete"
        case let .audioChanged(path, id, store, manifest):
            return
                "\(path): features of '\(id)' were computed from audio \(store.prefix(12))…, the manifest now says "
                + "\(manifest.prefix(12))…; recompute the store"
        case let .featureWidth(path, width, student, expected):
            return "\(path): features have \(width) coefficients per frame; \(student) expects \(expected)"
        case let .frameCounts(path, id, frames, expected):
            return
                "\(path): example '\(id)' has \(frames) frames, expected \(expected) like the rest of the dataset "
                + "(variants have one length)"
        case let .tooFewFrames(path, id, shape, student, minimum):
            return
                "\(path): example '\(id)' has features of shape \(shape); \(student) needs [frames, coefficients] "
                + "with at least \(minimum) frame(s) and 1 coefficient"
        case let .emptySplit(path, split):
            return "\(path): the \(split) split is empty"
        case let .teacherCache(path, reason):
            return "\(path): \(reason)"
        case let .checkpoint(path, reason):
            return "\(path): \(reason)"
        case let .config(field, reason):
            return "'\(field)': \(reason)"
        case let .featureStore(path, reason):
            return "\(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
