import AudioIO
import DatasetFormat
import Foundation
import Layers
import Numerics
import TKDCore
import TensorStore
import TrainingLoop

/// `tkd teacher train`: trains the bundled teacher on a generated dataset's audio with the one training loop
/// (`TrainingSession`) and writes a Hugging Face model folder `out/` (`config.json`, `model.safetensors`,
/// `preprocessor_config.json`: the best-by-validation weights) plus `out/training/` (`config.json`,
/// `state.safetensors`/`.json` — the last weights and Adam state, for resuming —, `history.jsonl`,
/// `metrics.json`). A rerun with the same config resumes from the state and reproduces the uninterrupted
/// run byte for byte.
public final class TeacherTrainer: TrainingTask {
    public let config: TeacherTrainConfig
    public let dataset: URL
    public let out: URL
    /// Threads, progress, `--stop-after` (saving the state; a rerun resumes) and where messages go.
    public var options = SessionOptions()

    let info: DatasetInfo
    let records: [String: ExampleRecord]
    /// Each example's audio file, resolved inside the dataset once (a bad path fails before the first step).
    let audio: [String: URL]
    let splits: [Split: [String]]
    public let manifestsSHA256: String
    let samples: Int

    /// The pretrained checkpoint of `--init` and its config (nil: the bundled teacher from scratch).
    let pretrained: (folder: URL, config: Wav2Vec2Config)?

    /// - Parameter initFolder: a pretrained Hugging Face wav2vec 2.0 folder to fine-tune (`--init`); its
    ///   weights' SHA-256 goes into the config, so a rerun with another checkpoint is refused.
    public init(config given: TeacherTrainConfig, dataset: URL, out: URL, initFolder: URL? = nil) throws {
        var config = given
        if let initFolder {
            let weights = ModelFolderLayout(initFolder).weights
            guard FileManager.default.fileExists(atPath: weights.path) else {
                throw Wav2Vec2Model.missingWeights(initFolder)
            }
            var f = config.finetune ?? TeacherTrainConfig.Finetune()
            f.initWeightsSHA256 = try SHA256.hex(fileAt: weights)
            f.initFolder = initFolder.path
            config.finetune = f
            let base = try Wav2Vec2Config(url: ModelFolderLayout(initFolder).config)
            guard f.freezeLayers <= base.layers else {
                throw TeacherError.input(
                    path: initFolder.path,
                    reason: "finetune.freeze_layers is \(f.freezeLayers); the checkpoint has \(base.layers) layers")
            }
            pretrained = (initFolder, base)
        } else {
            guard config.finetune == nil else {
                throw TeacherError.input(
                    path: out.path, reason: "the config has a 'finetune' section: pass the checkpoint with --init")
            }
            pretrained = nil
        }
        self.config = config
        self.dataset = dataset
        self.out = out
        info = try DatasetInfo.load(dataset)
        let all = try DatasetInfo.loadManifests(dataset)
        manifestsSHA256 = try ManifestFingerprint.sha256(dataset: dataset)
        var byID: [String: ExampleRecord] = [:], splits: [Split: [String]] = [:], audio: [String: URL] = [:]
        var length: Int?
        for r in all {
            guard r.sampleRate == 16_000 else {
                throw TeacherError.input(
                    path: DatasetLayout(dataset).manifest(r.split).path,
                    reason: "example '\(r.id)': sample_rate is \(r.sampleRate); expected 16000"
                )
            }
            if let length, r.numSamples != length {
                throw TeacherError.input(
                    path: DatasetLayout(dataset).manifest(r.split).path,
                    reason:
                        "example '\(r.id)': num_samples is \(r.numSamples); expected \(length) like the others "
                        + "(one length per dataset variant)"
                )
            }
            length = r.numSamples
            byID[r.id] = r
            audio[r.id] = try DatasetLayout(dataset).audio(r)
            splits[r.split, default: []].append(r.id)
        }
        guard let length, !(splits[.training] ?? []).isEmpty else {
            throw TeacherError.input(path: dataset.path, reason: "the training manifest holds no examples")
        }
        let c = Self.modelConfig(
            config, pretrained: pretrained?.config, labels: info.labels, multiLabel: info.isMultiLabel)
        guard c.frames(samples: length) > 0 else {
            throw TeacherError.input(
                path: dataset.path, reason: "examples of \(length) samples are too short for conv_kernel/conv_stride")
        }
        records = byID
        self.audio = audio
        self.splits = splits
        samples = length
        multiLabel = MultiLabelTask(info: info, records: all)
    }

    /// The label sets and clips of a multi-label dataset: sigmoid + BCE, best by validation mAP, and the model
    /// folder's config says `problem_type: multi_label_classification`.
    public let multiLabel: MultiLabelTask?
    public var sampling: Sampling { config.sampling ?? .shuffle }
    public func labelSet(_ id: String) -> [Int] { records[id]!.allLabelIndices }

    public var stateURL: URL { runFolder.checkpoint(RunLayout.state) }

    /// The model's configuration: the bundled teacher's from `model`, or the checkpoint's with a fresh head.
    static func modelConfig(
        _ config: TeacherTrainConfig, pretrained: Wav2Vec2Config?, labels: [String], multiLabel: Bool
    ) -> Wav2Vec2Config {
        var c = headConfig(config, pretrained: pretrained, labels: labels)
        c.problemType = multiLabel ? .multiLabel : nil
        return c
    }

    static func headConfig(
        _ config: TeacherTrainConfig, pretrained: Wav2Vec2Config?, labels: [String]
    ) -> Wav2Vec2Config {
        guard var c = pretrained, let f = config.finetune else { return config.wav2vec2Config(labels: labels) }
        c.labels = labels.count
        c.id2label = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.offset, $0.element) })
        c.classifierProjectionSize = f.projectorSize
        c.pooling = f.pooling
        if let w = f.weightedLayerSum { c.useWeightedLayerSum = w }
        return c
    }

    /// Waveforms [B, L] of `ids` (read in parallel, in order).
    func batch(_ ids: [String], pool: WorkPool) throws -> Tensor {
        let recs = records, files = audio
        let waves = try pool.map(ids.count) { i -> [Float] in
            let r = recs[ids[i]]!, url = files[ids[i]]!
            let audio = try AudioReader.read(url, options: AudioReadOptions(sampleRate: 16_000, allowResample: false))
            guard audio.samples.count == r.numSamples else {
                throw TeacherError.input(
                    path: url.path, reason: "has \(audio.samples.count) samples; the manifest says \(r.numSamples)")
            }
            return audio.samples
        }
        return Tensor(shape: [ids.count, samples], data: waves.flatMap { $0 })
    }

    /// The best weights' metrics as written to `training/metrics.json` (nil when `--stop-after` ended the
    /// invocation).
    public typealias Outcome = TrainingSession<TeacherTrainer>.Outcome

    /// The `config.json` record of how the weights were made.
    func record(step: Int, validation: Double) -> [String: Any] {
        [
            "tkd_teacher": [
                "tool": "tkd \(TKDVersion.current)", "dataset": info.name, "manifests_sha256": manifestsSHA256,
                "train_config": config.name, "step": step, "validation_accuracy": validation,
                "seed": Int(config.seed),
            ].merging(
                config.finetune.map { ["init_weights_sha256": $0.initWeightsSHA256] } ?? [:]
            ) { a, _ in a } as [String: Any]
        ]
    }

    public func run() throws -> Outcome {
        // The model folder is written by this training only: a folder holding anything else (a downloaded
        // checkpoint, another model) is refused rather than overwritten.
        let present = ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).sorted()
        if !present.isEmpty, !FileManager.default.fileExists(atPath: runFolder.config.path) {
            throw TeacherError.input(
                path: out.path,
                reason: "holds \(present.prefix(5).joined(separator: ", "))\(present.count > 5 ? ", …" : "") and no "
                    + "training/config.json of tkd teacher train; refusing to overwrite a folder this training did not "
                    + "make: pass a new or empty --out")
        }
        if let file = try? SafeTensorsFile(stateURL), file.metadata["format"] == "tkd-teacher-state/1" {
            throw TeacherError.input(
                path: stateURL.path,
                reason: "a training state of an earlier tkd (tkd-teacher-state/1), which this version does not "
                    + "resume; delete it, or use another --out, to train again")
        }
        // The model files are written here (the session cleans its own run folder, training/).
        AtomicFile.removeStaleTemporaries(in: out)
        return try TrainingSession(self, options: options).run()
    }

    // MARK: TrainingTask

    public var displayName: String { "teacher \(config.name)" }
    public var runFolder: RunLayout { ModelFolderLayout(out).training }
    public var labels: [String] { info.labels }

    public var settings: LoopSettings {
        LoopSettings(
            steps: config.steps, evalEvery: config.evalEvery, batchSize: config.batchSize, chunk: config.chunk,
            seed: config.seed, schedule: config.schedule, clipNorm: config.clipNorm, objective: Objective(),
            optimizer: .adam(epsilon: config.adamEpsilon))
    }

    public func configData() throws -> Data { try CanonicalJSON.encodePretty(config) }

    public func ids(_ split: Split) -> [String] { splits[split] ?? [] }

    public func makeModel() throws -> TrainableWav2Vec2 {
        let model = try makeBaseModel()
        // A sigmoid head starts at the training set's log prior odds (`MultiLabelTask.priorLogOdds`).
        if let ml = multiLabel { model.classifier.bias.value = ml.priorLogOdds(ids(.training)) }
        return model
    }

    func makeBaseModel() throws -> TrainableWav2Vec2 {
        let c = Self.modelConfig(
            config, pretrained: pretrained?.config, labels: info.labels, multiLabel: info.isMultiLabel)
        if let (folder, _) = pretrained, let f = config.finetune {
            // Every encoder weight of the checkpoint, a fresh head; do_normalize as its preprocessor says.
            let model = TrainableWav2Vec2(config: c, dropout: config.dropout, seed: config.seed)
            try model.loadEncoder(folder)
            model.freezeFeatureEncoder = f.freezeFeatureEncoder
            model.frozenLayers = f.freezeLayers
            return model
        }
        let model = TrainableWav2Vec2(
            config: c, dropout: config.dropout, seed: config.seed, frontEnd: config.model.frontEndInit.start)
        model.normalizeInput = config.normalizeInput
        return model
    }

    public func trainingBatch(_ ids: [String], step: Int) throws -> TrainingBatch {
        var x = try batch(ids, pool: WorkPool(jobs: options.jobs))
        var rng = CounterRNG(seed: config.seed, key: ["teacher", "time-shift", String(step)])
        _ = TimeShift.apply(&x, maxShift: config.timeShiftSamples, rng: &rng)
        return TrainingBatch(input: x, labels: ids.map { records[$0]!.labelIndex })
    }

    public func evaluationInput(_ ids: [String]) throws -> (input: Tensor, labels: [Int]) {
        (try batch(ids, pool: WorkPool(jobs: options.jobs)), ids.map { records[$0]!.labelIndex })
    }

    public func stateInfo(
        step: Int, validationAccuracy: Double?, optimizer: String?, pendingSums: [Double]?
    ) -> TrainingStateDescription<TeacherCheckpoint> {
        TrainingStateDescription(
            step: step, optimizer: optimizer, validationAccuracy: validationAccuracy, datasetName: info.name,
            manifestsSHA256: manifestsSHA256, pendingSums: pendingSums, details: TeacherCheckpoint(config: config))
    }

    public func resultDetails() -> NoDetails { NoDetails() }

    public func saveBest(_ model: TrainableWav2Vec2, step: Int, validationAccuracy: Double) throws {
        try model.save(to: out, extraConfig: record(step: step, validation: validationAccuracy))
    }

    public func loadBest() throws -> (model: TrainableWav2Vec2, step: Int?) {
        let best = TrainableWav2Vec2(
            config: Self.modelConfig(
                config, pretrained: pretrained?.config, labels: info.labels, multiLabel: info.isMultiLabel),
            seed: config.seed)
        try best.load(out)
        return (best, nil)
    }
}
