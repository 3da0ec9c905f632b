import DatasetFormat
import Foundation
import Layers
import TensorStore

/// A generated dataset opened for training: its manifests, label map and one feature store, checked
/// against each other before the first step (ids, audio hashes, shapes, labels, manifest fingerprint).
public final class TrainingData: @unchecked Sendable {
    public let dataset: URL
    public let info: DatasetInfo
    public let labels: [String]
    public let records: [String: ExampleRecord]
    /// Example ids per split, sorted by id (the order canonical manifests are written in).
    public let splits: [Split: [String]]
    public let preset: String
    public let store: ShardedStoreReader
    public let storeConfig: FeatureStoreConfig
    public let frames: Int
    public let featureCount: Int
    /// SHA-256 of the three manifests (the dataset's fingerprint, as the feature store records it).
    public let manifestsSHA256: String
    /// The examples' common length in samples (nil when they differ).
    public let windowSamples: Int?

    /// - Parameters:
    ///   - minimumFrames: the fewest input frames the student accepts (`Student.minimumFrames`).
    ///   - required: the splits that must hold examples (training needs all three; scoring one split, or
    ///     calibrating on the training split, needs only that one).
    public init(
        dataset: URL, preset: String, featureCount expected: Int? = nil, student: String = "the model",
        minimumFrames: Int = 1, required: Set<Split> = Set(Split.allCases)
    ) throws {
        self.dataset = dataset
        self.preset = preset
        info = try DatasetInfo.load(dataset)
        labels = info.labels
        let all = try DatasetInfo.loadManifests(dataset)
        manifestsSHA256 = try ManifestFingerprint.sha256(dataset: dataset)
        let folder = DatasetLayout(dataset).featureStore(preset)
        let configURL = folder.appendingPathComponent(FeatureStoreConfig.fileName)
        guard FileManager.default.fileExists(atPath: configURL.path),
            FileManager.default.fileExists(atPath: folder.appendingPathComponent(StoreIndex.fileName).path)
        else {
            throw TrainingError.missingFeatureStore(path: folder.path, preset: preset, dataset: dataset.path)
        }
        let config: FeatureStoreConfig
        do { config = try FeatureStoreConfig.load(folder) } catch let e as DatasetFormatError {
            throw TrainingError.featureStore(
                path: configURL.path, reason: "unreadable feature store config: \(e.reason)")
        }
        storeConfig = config
        guard config.manifestsSHA256 == manifestsSHA256 else {
            throw TrainingError.staleFeatureStore(
                path: folder.path, storeManifests: config.manifestsSHA256, manifests: manifestsSHA256)
        }
        let store = try ShardedStoreReader(folder)
        // Every shard's bytes against the index before any of them feeds a model.
        try store.checkShards()
        self.store = store
        let indexPath = folder.appendingPathComponent(StoreIndex.fileName).path
        let missing = all.filter { store.index.entries[$0.id] == nil }.map(\.id)
        guard missing.isEmpty else {
            throw TrainingError.missingFeatures(path: indexPath, ids: missing, total: missing.count)
        }
        var byID: [String: ExampleRecord] = [:]
        var splits: [Split: [String]] = [:]
        var frames: Int?
        var width: Int?
        for r in all {
            let entry = store.index.entries[r.id]!
            guard entry.shape.count == 2, entry.shape[0] >= minimumFrames, entry.shape[1] >= 1 else {
                throw TrainingError.tooFewFrames(
                    path: indexPath, id: r.id, shape: entry.shape, student: student, minimum: minimumFrames)
            }
            if let sha = entry.sourceSHA256, sha != r.audioSHA256 {
                throw TrainingError.audioChanged(path: indexPath, id: r.id, store: sha, manifest: r.audioSHA256)
            }
            let w = entry.shape.dropFirst().reduce(1, *)
            if width == nil { width = w }
            if let expected, w != expected {
                throw TrainingError.featureWidth(path: indexPath, width: w, student: student, expected: expected)
            }
            if frames == nil { frames = entry.shape[0] }
            guard entry.shape[0] == frames else {
                throw TrainingError.frameCounts(path: indexPath, id: r.id, frames: entry.shape[0], expected: frames!)
            }
            byID[r.id] = r
            splits[r.split, default: []].append(r.id)
        }
        for split in Split.allCases where required.contains(split) && (splits[split] ?? []).isEmpty {
            throw TrainingError.emptySplit(path: DatasetLayout(dataset).manifest(split).path, split: split.rawValue)
        }
        records = byID
        let lengths = Set(all.map(\.numSamples))
        windowSamples = lengths.count == 1 ? lengths.first : nil
        self.splits = splits
        self.frames = frames ?? 0
        featureCount = width ?? 0
    }

    /// Features of `ids` as one batch [B, frames, featureCount].
    public func batch(_ ids: [String]) throws -> Tensor {
        let size = frames * featureCount
        var data = [Float](repeating: 0, count: ids.count * size)
        for (i, id) in ids.enumerated() {
            try store.withTensor(id) { values, _ in
                data.withUnsafeMutableBufferPointer { d in
                    (d.baseAddress! + i * size).update(from: values.baseAddress!, count: size)
                }
            }
        }
        return Tensor(shape: [ids.count, frames, featureCount], data: data)
    }

    /// Centre of input frame j, in samples.
    public func frameCentre(_ j: Double) -> Double { storeConfig.frontEnd.frameCentre(j) }
}
