import DatasetFormat
import Foundation
import Layers
import TKDCore
import TensorStore
import TrainingLoop

/// A student's training run (`tkd train`), run by the one training loop (`TrainingSession`): the student's
/// features from the dataset's store, time shift and SpecAugment keyed by (seed, step), and the distillation
/// target a_T — the oracle span or a teacher cache — resampled to the student's T′ (the paper's protocol,
/// `Docs/students.md`).
///
/// Run folder `<runs>/<name>/`: `config.json`, `last.safetensors`/`.json` (weights + optimiser state,
/// for resuming), `best.safetensors`/`.json` (the inference checkpoint), `history.jsonl`, `metrics.json`.
/// A rerun with the same config resumes from `last` and reproduces the uninterrupted run exactly.
public final class Trainer: TrainingTask {
    public let config: TrainConfig
    public let data: TrainingData
    public let runFolder: RunLayout
    /// Threads, progress, `--stop-after` (saving `last`; a rerun resumes) and where messages go.
    public var options = SessionOptions()

    public init(config: TrainConfig, dataset: URL, runs: URL) throws {
        self.config = config
        try ContainedPath.checkName(config.name, field: "run name (--name, or the config's 'name')")
        data = try TrainingData(
            dataset: dataset, preset: config.features, featureCount: config.student.featureCount,
            student: config.student.rawValue, minimumFrames: config.student.minimumFrames)
        runFolder = RunLayout(runs: runs, name: config.name)
        if case let .teacher(fingerprint) = config.kd.target {
            if config.timeShiftFrames > 0 && config.kd.interpolation == .index && config.kd.lambda > 0 {
                throw TrainingError.config(
                    field: "kd.interpolation",
                    reason:
                        "time_shift_frames with a teacher target needs interpolation 'centers' (the target moves "
                        + "with the shifted features)"
                )
            }
            teacher = try TeacherTargets(data: data, fingerprint: fingerprint, logits: config.kd.logitWeight > 0)
        } else {
            teacher = nil
            if config.kd.logitWeight > 0 {
                throw TrainingError.config(
                    field: "kd.logit_weight",
                    reason: "logit distillation needs teacher logits from a teacher cache; the oracle target has none")
            }
        }
        centres = config.student.contextCentres(frames: data.frames, frameCentre: data.frameCentre)
        multiLabel = MultiLabelTask(info: data.info, records: Array(data.records.values))
        if multiLabel != nil && config.kd.logitWeight > 0 {
            throw TrainingError.config(
                field: "kd.logit_weight",
                reason: "logit distillation is softmax KL, which a multi-label dataset's sigmoid head does not use; "
                    + "expected 0 (temporal KD works as for single-label data)")
        }
    }

    /// The label sets and clips of a multi-label dataset (`task: multi_label`): sigmoid + BCE, clip mAP.
    public let multiLabel: MultiLabelTask?
    public var sampling: Sampling { config.sampling ?? .shuffle }
    public func labelSet(_ id: String) -> [Int] { data.records[id]!.allLabelIndices }

    /// The teacher cache when `kd.target` is `teacher:<fingerprint>`.
    public let teacher: TeacherTargets?
    /// The student's context-step centres in samples.
    let centres: [Double]

    /// The run folder `<runs>/<name>/`.
    public var folder: URL { runFolder.folder }
    var best: URL { runFolder.checkpoint(RunLayout.best) }

    public struct Outcome: Sendable {
        public var metrics: RunMetrics?
        public var resumedFrom: Int
        public var folder: URL
        /// Set when `stopAfter` ended the invocation before the last step.
        public var stoppedAt: Int?
    }

    /// Runs (or resumes) the training; returns the final metrics (also written to `metrics.json`), or — when
    /// `stopAfter` ends this invocation early — `metrics` nil and `stoppedAt` set.
    public func run() throws -> Outcome {
        let outcome = try TrainingSession(self, options: options).run()
        return Outcome(
            metrics: outcome.result, resumedFrom: outcome.resumedFrom, folder: folder, stoppedAt: outcome.stoppedAt)
    }

    // MARK: TrainingTask

    public var displayName: String { config.name }
    public var stateURL: URL { runFolder.checkpoint(RunLayout.last) }
    public var manifestsSHA256: String { data.manifestsSHA256 }
    public var labels: [String] { data.labels }

    public var settings: LoopSettings {
        LoopSettings(
            steps: config.steps, evalEvery: config.evalEvery, batchSize: config.batchSize, chunk: config.chunk,
            seed: config.seed, schedule: config.schedule, clipNorm: config.clipNorm, objective: config.objective,
            optimizer: config.optimizer)
    }

    public func configData() throws -> Data { try CanonicalJSON.encodePretty(config) }

    public func ids(_ split: Split) -> [String] { data.splits[split] ?? [] }

    public func makeModel() -> StudentModel {
        let model = StudentModel(
            student: config.student, classes: data.labels.count, batchNormMomentum: config.batchNormMomentum)
        model.initialize(seed: config.seed)
        return model
    }

    public func trainingBatch(_ ids: [String], step: Int) throws -> TrainingBatch {
        var x = try data.batch(ids)
        var shiftRNG = CounterRNG(seed: config.seed, key: ["train", "time-shift", String(step)])
        let shifts = TimeShift.apply(&x, maxShift: config.timeShiftFrames, rng: &shiftRNG)
        if let fixed = config.specAugment {
            let r = data.records[ids[0]]!
            let aug = fixed.scaled(seconds: Double(r.numSamples) / Double(r.sampleRate))
            var rng = CounterRNG(seed: config.seed, key: ["train", "spec-augment", String(step)])
            let stripes = aug.stripes(frames: x.shape[1], features: x.shape[2], rng: &rng)
            aug.apply(&x.data, examples: x.batch, frames: x.shape[1], features: x.shape[2], stripes: stripes)
        }
        let hop = data.storeConfig.frontEnd.hopLength
        var targets: [Float]?
        if config.kd.lambda > 0 {
            if let teacher {
                targets = try zip(ids, shifts).flatMap { id, s in
                    try teacher.target(
                        id, steps: centres.count, mode: config.kd.interpolation, studentCentres: centres, shift: s * hop
                    )
                }
            } else {
                targets = zip(ids, shifts).flatMap { id, s in
                    AttentionTargets.oracle(data.records[id]!, centres: centres, shift: s * hop)
                }
            }
        }
        var teacherLogits: [Float]?
        if config.kd.logitWeight > 0, let teacher {
            teacherLogits = try ids.flatMap { try teacher.logits($0, classes: data.labels.count) }
        }
        return TrainingBatch(
            input: x, labels: ids.map { data.records[$0]!.labelIndex }, targets: targets, teacherLogits: teacherLogits)
    }

    public func evaluationInput(_ ids: [String]) throws -> (input: Tensor, labels: [Int]) {
        (try data.batch(ids), ids.map { data.records[$0]!.labelIndex })
    }

    public func stateInfo(
        step: Int, validationAccuracy: Double?, optimizer: String?, pendingSums: [Double]?
    ) -> CheckpointInfo {
        let details = StudentCheckpoint(
            student: config.student, classes: data.labels.count, labels: data.labels, featurePreset: config.features,
            frames: data.frames, config: config, kdLambda: config.kd.lambda, kdTemperature: config.kd.temperature,
            kdTarget: config.kd.target, teacherFingerprint: teacher?.fingerprint, trainingOnly: ["kd.query"],
            sampleRate: data.storeConfig.frontEnd.sampleRate, windowSamples: data.windowSamples,
            task: data.info.task ?? .singleLabel, frontEnd: data.storeConfig.frontEnd)
        return CheckpointInfo(
            step: step, optimizer: optimizer, validationAccuracy: validationAccuracy, datasetName: data.info.name,
            manifestsSHA256: data.manifestsSHA256, pendingSums: pendingSums, details: details)
    }

    public func resultDetails() -> StudentRun {
        // The target as resolved: `teacher` becomes `teacher:<fingerprint>`, so runs of different caches never
        // share a report cell.
        StudentRun(
            student: config.student, kdLambda: config.kd.lambda,
            kdTarget: teacher.map { .teacher(fingerprint: $0.fingerprint) } ?? config.kd.target)
    }

    public func saveBest(_ model: StudentModel, step: Int, validationAccuracy: Double) throws {
        try Checkpoint.save(
            model,
            info: stateInfo(step: step, validationAccuracy: validationAccuracy, optimizer: nil, pendingSums: nil),
            optimizer: nil, to: best)
    }

    public func loadBest() throws -> (model: StudentModel, step: Int?) {
        let (info, file) = try Checkpoint.open(best)
        return (try Checkpoint.model(from: info, file: file, includeTrainingOnly: false), info.step)
    }
}
