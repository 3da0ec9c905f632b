import Foundation
import TensorStore
import TrainingLoop

/// What a student checkpoint says about itself (`<name>.json`, and the same JSON inside the safetensors file's
/// metadata under `tkd_checkpoint`, which is authoritative: one file, written atomically): the common keys of
/// every training state and the student's own.
public typealias CheckpointInfo = TrainingStateDescription<StudentCheckpoint>

/// A student checkpoint's own keys: enough to rebuild and evaluate the model with nothing else.
public struct StudentCheckpoint: TrainingStateDetails {
    public static let format = "tkd-checkpoint/1"
    public var student: Student
    public var classes: Int
    /// Label map: index → name (the dataset's `labels`).
    public var labels: [String]
    public var featurePreset: String
    /// Frames per example of the training data.
    public var frames: Int
    public var config: TrainConfig
    /// λ, τ and the target the run distilled from (`teacher:<fingerprint>` or `oracle`).
    public var kdLambda: Float
    public var kdTemperature: Float
    public var kdTarget: KDTarget
    public var teacherFingerprint: String?
    /// Tensors that belong to training only (the KD query): never used by inference or evaluation.
    public var trainingOnly: [String]

    enum CodingKeys: String, CodingKey {
        case student, classes, labels, frames, config
        case featurePreset = "feature_preset", kdLambda = "kd_lambda", kdTemperature = "kd_temperature"
        case kdTarget = "kd_target", teacherFingerprint = "teacher_fingerprint", trainingOnly = "training_only"
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
        try TrainingState.open(url, as: StudentCheckpoint.self)
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
