import DatasetFormat
import Foundation
import Layers
import Numerics
import TKDCore
import TensorStore
import TrainingLoop

/// What a checkpoint says about itself (`<name>.json`, and the same JSON inside the safetensors file's
/// metadata under `tkd_checkpoint`, which is authoritative: one file, written atomically).
public struct CheckpointInfo: TrainingStateInfo {
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
    public var kdTarget: KDTarget
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
        case validationAccuracy = "validation_accuracy", datasetName = "dataset_name", manifestsSHA256 =
            "manifests_sha256"
        case pendingSums = "pending_sums"
    }
}

/// Student checkpoints: the `TrainingState` format with a `CheckpointInfo` description (weights, batch-norm
/// statistics and the training-only KD query; the optimiser state in `last`).
public enum Checkpoint {
    /// Writes `url` (.safetensors, atomically) and its readable `.json` twin: every model tensor, the
    /// KD query (listed as training-only) and, when given, the optimiser state.
    public static func save(_ model: StudentModel, info: CheckpointInfo, optimizer: OptimizerState?, to url: URL) throws
    {
        try TrainingState.save(
            model.stateParameters, optimizer: optimizer?.tensors(model.trainableParameters), info: info, to: url)
    }

    /// Opens a checkpoint and reads its description from the file's own metadata.
    public static func open(_ url: URL) throws -> (info: CheckpointInfo, file: SafeTensorsFile) {
        try TrainingState.open(url, as: CheckpointInfo.self)
    }

    /// A model with the checkpoint's weights; `includeTrainingOnly` also restores the KD query.
    public static func model(
        from info: CheckpointInfo, file: SafeTensorsFile, includeTrainingOnly: Bool
    ) throws -> StudentModel {
        let model = StudentModel(
            student: info.student, classes: info.classes, batchNormMomentum: info.config.batchNormMomentum)
        try TrainingState.load(model.parameters + (includeTrainingOnly ? [model.kdQuery] : []), from: file)
        return model
    }
}
