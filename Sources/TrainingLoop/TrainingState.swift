import Foundation
import Layers
import TKDCore
import TensorStore

/// The description a training state carries about itself (students: `CheckpointInfo`; the teacher:
/// `TeacherStateInfo`).
public protocol TrainingStateInfo: Codable, Equatable, Sendable {
    /// The `format` written into the file's metadata and the JSON twin.
    static var currentFormat: String { get }
    var format: String { get }
    /// Optimiser steps taken.
    var step: Int { get }
    /// The dataset the run trains on (`ManifestFingerprint`).
    var manifestsSHA256: String { get }
    /// Training-loss sums since the last validation (loss, CE, attention KD, correct, examples), written when a
    /// run stops between validations, so that a resumed run writes the same history as an uninterrupted one.
    var pendingSums: [Double]? { get }
}

/// The one checkpoint and training-state format (contract): `<name>.safetensors` with the model's tensors
/// (and, in a resumable state, the optimiser's `optimizer.<slot>.<parameter>` tensors), whose metadata holds
/// `format` and `tkd_checkpoint` — the JSON description, authoritative: one file, written atomically —, plus
/// a readable `<name>.json` twin of the description.
public enum TrainingState {
    /// Writes `url` and its `.json` twin.
    public static func save<Info: TrainingStateInfo>(
        _ tensors: [Parameter], optimizer: [SafeTensors.Tensor]?, info: Info,
        to url: URL
    ) throws {
        var all = tensors.map { SafeTensors.Tensor(name: $0.name, shape: $0.shape, values: $0.value) }
        all += optimizer ?? []
        let json = try CanonicalJSON.encode(info)
        let data = SafeTensors.encode(
            all,
            metadata: [
                "format": Info.currentFormat,
                "tkd_checkpoint": String(decoding: json, as: UTF8.self),
            ])
        try AtomicFile.write(data, to: url)
        try AtomicFile.write(
            try CanonicalJSON.encodePretty(info), to: url.deletingPathExtension().appendingPathExtension("json"))
    }

    /// Opens a state or checkpoint and reads its description from the file's own metadata.
    /// - Throws: `TrainingLoopError.checkpoint` naming the file.
    public static func open<Info: TrainingStateInfo>(
        _ url: URL, as type: Info.Type
    ) throws -> (info: Info, file: SafeTensorsFile) {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingLoopError.checkpoint(path: url.path, reason: "no such checkpoint")
        }
        let file = try SafeTensorsFile(url)
        guard let text = file.metadata["tkd_checkpoint"] else {
            throw TrainingLoopError.checkpoint(
                path: url.path, reason: "not a tkd checkpoint (no 'tkd_checkpoint' metadata)")
        }
        do {
            let info = try JSONDecoder().decode(Info.self, from: Data(text.utf8))
            guard info.format == Info.currentFormat else {
                throw TrainingLoopError.checkpoint(
                    path: url.path, reason: "format '\(info.format)', expected '\(Info.currentFormat)'")
            }
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
