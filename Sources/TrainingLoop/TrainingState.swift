import Foundation
import Layers
import TKDCore
import TensorStore

/// What a kind of model adds to a training state's description (students: `StudentCheckpoint`; the bundled
/// teacher: `TeacherCheckpoint`): its own keys, written beside the common ones in the same JSON object.
public protocol TrainingStateDetails: Codable, Equatable, Sendable {
    associatedtype Config: Equatable
    /// The `format` of its states and checkpoints.
    static var format: String { get }
    /// The training config the state was made with.
    var config: Config { get }
}

/// What a training state or checkpoint says about itself (the JSON in the file's `tkd_checkpoint` metadata and
/// its `.json` twin): the keys every state has (`TrainingStateCommon`) and the model's details, side by side
/// in one JSON object (`info.step`, `info.student`).
public typealias TrainingStateDescription<Details: TrainingStateDetails> = SideBySide<TrainingStateCommon, Details>

/// The keys of every training state and checkpoint.
public struct TrainingStateCommon: Codable, Equatable, Sendable {
    public var format: String
    /// `tkd <version>` that wrote it.
    public var tool = "tkd \(TKDVersion.current)"
    /// Optimiser steps taken.
    public var step: Int
    /// `adam` or `momentum` when the file carries the optimiser state (resumable), else nil.
    public var optimizer: String?
    public var validationAccuracy: Double?
    public var datasetName: String
    /// The manifests the run trains on (`ManifestFingerprint`); a state made on others is not resumed.
    public var manifestsSHA256: String
    /// Training-loss sums since the last validation (loss, CE, attention KD, correct, examples), written
    /// when a run stops between validations, so that a resumed run writes the same history as an
    /// uninterrupted one.
    public var pendingSums: [Double]?

    enum CodingKeys: String, CodingKey {
        case format, tool, step, optimizer
        case validationAccuracy = "validation_accuracy", datasetName = "dataset_name"
        case manifestsSHA256 = "manifests_sha256", pendingSums = "pending_sums"
    }

    /// Why a run cannot resume from these keys, or nil: `step` ≥ 0; `pending_sums` absent or five finite sums
    /// ≥ 0 whose last two (correct, examples) are whole numbers below 2^53.
    var problem: String? {
        if step < 0 { return "'step' is \(step); expected ≥ 0" }
        if let p = pendingSums {
            let counts = p.count == 5 ? [p[3], p[4]] : []
            guard p.count == 5, p.allSatisfy({ $0.isFinite && $0 >= 0 }),
                counts.allSatisfy({ $0 == $0.rounded() && $0 < 9_007_199_254_740_992 })
            else { return "'pending_sums' is \(p); expected five finite sums ≥ 0, the last two whole numbers" }
        }
        return nil
    }
}

extension SideBySide where Common == TrainingStateCommon, Details: TrainingStateDetails {
    public init(
        step: Int, optimizer: String?, validationAccuracy: Double?, datasetName: String, manifestsSHA256: String,
        pendingSums: [Double]?, details: Details
    ) {
        self.init(
            common: TrainingStateCommon(
                format: Details.format, step: step, optimizer: optimizer, validationAccuracy: validationAccuracy,
                datasetName: datasetName, manifestsSHA256: manifestsSHA256, pendingSums: pendingSums),
            details: details)
    }
}

/// The one checkpoint and training-state format (contract): `<name>.safetensors` with the model's tensors
/// (and, in a resumable state, the optimiser's `optimizer.<slot>.<parameter>` tensors), whose metadata holds
/// `format` and `tkd_checkpoint` — the JSON description, authoritative: one file, written atomically —, plus
/// a readable `<name>.json` twin of the description.
public enum TrainingState {
    /// Writes `url` and its `.json` twin.
    public static func save<Details>(
        _ tensors: [Parameter], optimizer: [SafeTensors.Tensor]?, info: TrainingStateDescription<Details>,
        to url: URL
    ) throws {
        var all = tensors.map { SafeTensors.Tensor(name: $0.name, shape: $0.shape, values: $0.value) }
        all += optimizer ?? []
        let json = try CanonicalJSON.encode(info)
        let data = SafeTensors.encode(
            all,
            metadata: [
                "format": Details.format,
                "tkd_checkpoint": String(decoding: json, as: UTF8.self),
            ])
        try AtomicFile.write(data, to: url, durable: true)
        try AtomicFile.write(
            try CanonicalJSON.encodePretty(info), to: url.deletingPathExtension().appendingPathExtension("json"),
            durable: true)
    }

    /// Opens a state or checkpoint and reads its description from the file's own metadata.
    /// - Throws: `TrainingLoopError.checkpoint` naming the file.
    public static func open<Details>(
        _ url: URL, as type: Details.Type
    ) throws -> (info: TrainingStateDescription<Details>, file: SafeTensorsFile) {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingLoopError.checkpoint(path: url.path, reason: "no such checkpoint")
        }
        let file = try SafeTensorsFile(url)
        guard let text = file.metadata["tkd_checkpoint"] else {
            throw TrainingLoopError.checkpoint(
                path: url.path, reason: "not a tkd checkpoint (no 'tkd_checkpoint' metadata)")
        }
        do {
            let info = try JSONDecoder().decode(TrainingStateDescription<Details>.self, from: Data(text.utf8))
            guard info.format == Details.format else {
                throw TrainingLoopError.checkpoint(
                    path: url.path, reason: "format '\(info.format)', expected '\(Details.format)'")
            }
            if let problem = info.common.problem { throw TrainingLoopError.checkpoint(path: url.path, reason: problem) }
            return (info, file)
        } catch let e as TrainingLoopError { throw e } catch {
            throw TrainingLoopError.checkpoint(
                path: url.path, reason: "unreadable description: \(CanonicalJSON.describe(error))")
        }
    }

    /// Copies the file's tensors into `parameters` by name.
    /// - Throws: `TrainingLoopError.checkpoint` naming a missing tensor or one of the wrong shape.
    public static func load(_ parameters: [Parameter], from file: SafeTensorsFile) throws {
        for p in parameters {
            guard let e = file.entries[p.name] else {
                throw TrainingLoopError.checkpoint(path: file.path, reason: "tensor '\(p.name)' is missing")
            }
            guard e.shape == p.shape else {
                throw TrainingLoopError.checkpoint(
                    path: file.path, reason: "tensor '\(p.name)' has shape \(e.shape), expected \(p.shape)")
            }
            p.value = try file.values(p.name)
        }
    }
}
