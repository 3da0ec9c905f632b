import DatasetFormat
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
    /// What a deployment needs besides the weights (`tkd export`, `tkd detect`): the training examples' rate and
    /// length in samples, the dataset's task (softmax or sigmoid outputs) and the resolved front end. Nil in
    /// checkpoints written before these keys existed; `tkd export --dataset` then reads them from the dataset.
    public var sampleRate: Int?
    public var windowSamples: Int?
    public var task: DatasetTask?
    public var frontEnd: FrontEndConfig?

    enum CodingKeys: String, CodingKey {
        case student, classes, labels, frames, config, task
        case featurePreset = "feature_preset", kdLambda = "kd_lambda", kdTemperature = "kd_temperature"
        case kdTarget = "kd_target", teacherFingerprint = "teacher_fingerprint", trainingOnly = "training_only"
        case sampleRate = "sample_rate", windowSamples = "window_samples", frontEnd = "front_end"
    }
}

extension StudentCheckpoint {
    /// Why a model cannot be built and evaluated from these keys, or nil: `classes` must equal the number of
    /// `labels` (1…10000, unique), `frames` reach the student's minimum, τ be finite and positive, `chunk`
    /// positive.
    var problem: String? {
        if !(1...10_000).contains(classes) || classes != labels.count {
            return "'classes' is \(classes) with \(labels.count) labels; expected as many classes as labels (1…10000)"
        }
        if Set(labels).count != labels.count { return "'labels' repeats a label; expected unique labels" }
        if frames < student.minimumFrames || frames > 1_000_000 {
            return "'frames' is \(frames); \(student.rawValue) needs \(student.minimumFrames)…1000000"
        }
        if !kdTemperature.isFinite || kdTemperature <= 0 {
            return "'kd_temperature' is \(kdTemperature); expected a finite τ > 0"
        }
        if config.chunk < 1 { return "'config.chunk' is \(config.chunk); expected ≥ 1" }
        if let r = sampleRate, !(1...384_000).contains(r) { return "'sample_rate' is \(r); expected 1…384000" }
        if let n = windowSamples, !(1...(1 << 26)).contains(n) {
            return "'window_samples' is \(n); expected 1…\(1 << 26)"
        }
        if let f = frontEnd {
            if let r = sampleRate, f.sampleRate != r {
                return "'front_end.sample_rate' is \(f.sampleRate); 'sample_rate' is \(r)"
            }
            if f.featureCount != student.featureCount {
                return "'front_end' gives \(f.featureCount) coefficients; \(student.rawValue) reads "
                    + "\(student.featureCount)"
            }
            if let n = windowSamples, f.hopLength > 0, f.frameLength > 0, f.frameCount(samples: n) != frames {
                return "'window_samples' \(n) gives \(f.frameCount(samples: n)) frames; 'frames' is \(frames)"
            }
        }
        return nil
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
    /// - Throws: `TrainingLoopError.checkpoint` naming the file and the field whose value the model cannot be
    ///   built from (classes against labels, frames, τ, chunk).
    public static func open(_ url: URL) throws -> (info: CheckpointInfo, file: SafeTensorsFile) {
        let (info, file) = try TrainingState.open(url, as: StudentCheckpoint.self)
        if let problem = info.details.problem {
            throw TrainingLoopError.checkpoint(path: url.path, reason: problem)
        }
        return (info, file)
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

extension Checkpoint {
    /// An untrained student as `tkd train` starts it (Keras's initialisers, keyed by `seed`) with a complete
    /// deployment description (`tkd model init`): for benchmarks, export checks and parity fixtures, where
    /// the weights need not have learned anything.
    /// - Parameters:
    ///   - preset: the front end (default: the student's).
    ///   - windowSamples: the input window in samples at `sampleRate`.
    public static func untrained(
        student: Student, labels: [String], preset: FrontEndPreset? = nil, sampleRate: Int = 16000,
        windowSamples: Int, task: DatasetTask = .singleLabel, seed: UInt64 = 0
    ) throws -> (model: StudentModel, info: CheckpointInfo) {
        let preset = preset ?? FrontEndPreset(rawValue: student.preset)!
        let frontEnd = preset.config(sampleRate: sampleRate)
        let frames = frontEnd.frameCount(samples: windowSamples)
        let model = StudentModel(student: student, classes: labels.count)
        model.initialize(seed: seed)
        var config = TrainConfig(name: "untrained-\(student.rawValue)", student: student)
        config.features = preset.rawValue
        config.seed = seed
        let details = StudentCheckpoint(
            student: student, classes: labels.count, labels: labels, featurePreset: preset.rawValue, frames: frames,
            config: config, kdLambda: 0, kdTemperature: 1, kdTarget: .oracle, teacherFingerprint: nil,
            trainingOnly: ["kd.query"], sampleRate: sampleRate, windowSamples: windowSamples, task: task,
            frontEnd: frontEnd)
        if let problem = details.problem {
            throw TrainingError.config(field: "model init", reason: problem)
        }
        let info = CheckpointInfo(
            step: 0, optimizer: nil, validationAccuracy: nil, datasetName: "untrained", manifestsSHA256: "",
            pendingSums: nil, details: details)
        return (model, info)
    }
}
