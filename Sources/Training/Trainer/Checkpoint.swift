import DatasetFormat
import Foundation
import Layers
import Numerics
import TensorStore
import TKDCore

/// What a checkpoint says about itself (`<name>.json`, and the same JSON inside the safetensors file's
/// metadata under `tkd_checkpoint`, which is authoritative: one file, written atomically).
public struct CheckpointInfo: Sendable, Equatable, Codable {
    public static let currentFormat = "tkd-checkpoint/1"
    public var format = CheckpointInfo.currentFormat
    public var tool = "tkd \(TKDVersion.current)"
    public var student: Student
    public var classes: Int
    /// Label map: index → name (the dataset's `labels`).
    public var labels: [String]
    public var featurePreset: String
    /// Frames per example of the training data.
    public var frames: Int
    /// Optimiser steps taken.
    public var step: Int
    public var config: TrainConfig
    /// λ, τ and the target the run distilled from (`teacher:<fingerprint>` or `oracle`).
    public var kdLambda: Float
    public var kdTemperature: Float
    public var kdTarget: String
    public var teacherFingerprint: String?
    /// Tensors that belong to training only (the KD query): never used by inference or evaluation.
    public var trainingOnly: [String]
    /// `adam` or `momentum` when the file carries the optimiser state (resumable), else nil.
    public var optimizer: String?
    public var validationAccuracy: Double?
    public var datasetName: String
    public var manifestsSHA256: String
    /// Training-loss sums since the last validation (loss, CE, attention KD, correct, examples), so that a
    /// resumed run writes the same history as an uninterrupted one.
    public var pendingSums: [Double]?

    enum CodingKeys: String, CodingKey {
        case format, tool, student, classes, labels, frames, step, config, optimizer
        case featurePreset = "feature_preset", kdLambda = "kd_lambda", kdTemperature = "kd_temperature"
        case kdTarget = "kd_target", teacherFingerprint = "teacher_fingerprint", trainingOnly = "training_only"
        case validationAccuracy = "validation_accuracy", datasetName = "dataset_name", manifestsSHA256 = "manifests_sha256"
        case pendingSums = "pending_sums"
    }
}

/// The optimiser and its state.
public enum OptimizerState: Sendable {
    case adam(Adam)
    case momentum(MomentumSGD)

    public init(_ config: TrainConfig.OptimizerConfig) {
        switch config {
        case let .adam(eps): self = .adam(Adam(epsilon: eps))
        case let .momentum(mu): self = .momentum(MomentumSGD(momentum: mu))
        }
    }

    public var kind: String { if case .adam = self { return "adam" } else { return "momentum" } }

    /// One update of `parameters` with their gradients at learning rate `lr`.
    public mutating func update(_ parameters: [Parameter], lr: Double) {
        let counts = parameters.map(\.count)
        switch self {
        case var .adam(a):
            let rate = a.begin(counts: counts, lr: lr)
            for (k, p) in parameters.enumerated() {
                let g = p.gradient
                p.value.withUnsafeMutableBufferPointer { v in g.withUnsafeBufferPointer { a.apply(tensor: k, v, $0, rate: rate) } }
            }
            self = .adam(a)
        case var .momentum(s):
            s.begin(counts: counts)
            for (k, p) in parameters.enumerated() {
                let g = p.gradient
                p.value.withUnsafeMutableBufferPointer { v in g.withUnsafeBufferPointer { s.apply(tensor: k, v, $0, lr: lr) } }
            }
            self = .momentum(s)
        }
    }

    /// State tensors keyed `optimizer.<slot>.<parameter>` (nothing before the first update).
    public func tensors(_ parameters: [Parameter]) -> [SafeTensors.Tensor] {
        let slots: [(String, [[Float]])]
        switch self {
        case let .adam(a): slots = [("m", a.m), ("v", a.v)]
        case let .momentum(s): slots = [("velocity", s.velocity)]
        }
        return slots.flatMap { slot, arrays in
            arrays.isEmpty ? [] : zip(parameters, arrays).map { p, values in
                SafeTensors.Tensor(name: "optimizer.\(slot).\(p.name)", shape: p.shape, values: values)
            }
        }
    }

    var step: Int {
        switch self {
        case let .adam(a): return a.step
        case .momentum: return 0
        }
    }

    /// Restores the state written by `tensors` (Adam's t is the checkpoint's step).
    public mutating func restore(from file: SafeTensorsFile, parameters: [Parameter], step: Int) throws {
        func slot(_ name: String) throws -> [[Float]] {
            guard step > 0 else { return [] }
            return try parameters.map { p in
                let key = "optimizer.\(name).\(p.name)"
                guard file.entries[key]?.shape == p.shape else {
                    throw TrainingError.checkpoint(path: file.path, reason: "optimizer state '\(key)' is missing or has the wrong shape")
                }
                return try file.values(key)
            }
        }
        switch self {
        case var .adam(a):
            a.m = try slot("m"); a.v = try slot("v"); a.step = step
            self = .adam(a)
        case var .momentum(s):
            s.velocity = try slot("velocity")
            self = .momentum(s)
        }
    }
}

public enum Checkpoint {
    /// Writes `url` (.safetensors, atomically) and its readable `.json` twin: every model tensor, the
    /// KD query (listed as training-only) and, when given, the optimiser state.
    public static func save(_ model: StudentModel, info: CheckpointInfo, optimizer: OptimizerState?, to url: URL) throws {
        var tensors = (model.parameters + [model.kdQuery]).map { SafeTensors.Tensor(name: $0.name, shape: $0.shape, values: $0.value) }
        if let optimizer { tensors += optimizer.tensors(model.trainableParameters) }
        let json = try CanonicalJSON.encode(info)
        let data = SafeTensors.encode(tensors, metadata: ["format": CheckpointInfo.currentFormat,
                                                          "tkd_checkpoint": String(decoding: json, as: UTF8.self)])
        try AtomicFile.write(data, to: url)
        try AtomicFile.write(try CanonicalJSON.encodePretty(info), to: url.deletingPathExtension().appendingPathExtension("json"))
    }

    /// Opens a checkpoint and reads its description from the file's own metadata.
    public static func open(_ url: URL) throws -> (info: CheckpointInfo, file: SafeTensorsFile) {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.checkpoint(path: url.path, reason: "no such checkpoint")
        }
        let file = try SafeTensorsFile(url)
        guard let text = file.metadata["tkd_checkpoint"] else {
            throw TrainingError.checkpoint(path: url.path, reason: "not a tkd checkpoint (no 'tkd_checkpoint' metadata)")
        }
        do {
            let info = try JSONDecoder().decode(CheckpointInfo.self, from: Data(text.utf8))
            guard info.format == CheckpointInfo.currentFormat else {
                throw TrainingError.checkpoint(path: url.path, reason: "format '\(info.format)', expected '\(CheckpointInfo.currentFormat)'")
            }
            return (info, file)
        } catch let e as TrainingError { throw e } catch {
            throw TrainingError.checkpoint(path: url.path, reason: "unreadable description: \(CanonicalJSON.describe(error))")
        }
    }

    /// A model with the checkpoint's weights; `includeTrainingOnly` also restores the KD query.
    public static func model(from info: CheckpointInfo, file: SafeTensorsFile, includeTrainingOnly: Bool) throws -> StudentModel {
        let model = StudentModel(student: info.student, classes: info.classes, batchNormMomentum: info.config.batchNormMomentum)
        for p in model.parameters + (includeTrainingOnly ? [model.kdQuery] : []) {
            guard let e = file.entries[p.name] else {
                throw TrainingError.checkpoint(path: file.path, reason: "tensor '\(p.name)' is missing")
            }
            guard e.shape == p.shape else {
                throw TrainingError.checkpoint(path: file.path, reason: "tensor '\(p.name)' has shape \(e.shape), expected \(p.shape)")
            }
            p.value = try file.values(p.name)
        }
        return model
    }
}
