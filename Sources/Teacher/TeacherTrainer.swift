import DatasetFormat
import AudioIO
import Foundation
import Layers
import Numerics
import TensorStore
import TKDCore
import Training

/// The bundled teacher's training configuration (`Recipes/teacher/*.yaml`, documented in
/// `Recipes/teacher/README.md`): a compact wav2vec 2.0 (base layout) trained from scratch on raw audio.
public struct TeacherTrainConfig: Sendable, Equatable, Codable {
    public var name: String
    public var seed: UInt64 = 0
    public var batchSize = 32
    public var steps = 2_000
    public var evalEvery = 200
    public var adamEpsilon: Float = 1e-8
    public var schedule = LearningRateSchedule.warmupCosine(peak: 1e-3, final: 1e-5, warmup: 100, steps: 2_000)
    public var clipNorm: Float? = 1
    /// Examples per parallel chunk (fixes the summation order, not `--jobs`).
    public var chunk = 4
    /// Dropout after the feature projection, the encoder's input norm, attention and feed-forward outputs.
    public var dropout: Float = 0.1
    /// Random time shift of each waveform by up to ± this many samples, zero-filled, keyed by (seed, step).
    public var timeShiftSamples = 0
    /// Zero-mean, unit-variance waveforms (written as `do_normalize` in `preprocessor_config.json`).
    public var normalizeInput = true
    public var model = Model()

    public struct Model: Sendable, Equatable, Codable {
        public var hiddenSize = 64
        public var layers = 2
        public var heads = 4
        public var intermediateSize = 128
        public var convDim = [32, 32, 32, 32, 32, 32, 32]
        public var convKernel = [10, 3, 3, 3, 3, 2, 2]
        public var convStride = [5, 2, 2, 2, 2, 2, 2]
        public var positionalKernel = 16
        public var positionalGroups = 4
        public var projectorSize = 32
        /// "mean" (Hugging Face's head) or "first" (first-frame head; transformers ignores it).
        public var pooling = "mean"
        /// First convolution initialised as a mel-spaced Gabor filterbank ("gabor") or Kaiming-normal ("kaiming").
        public var frontEndInit = "kaiming"
        public init() {}

        enum CodingKeys: String, CodingKey {
            case layers, heads, pooling
            case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", convDim = "conv_dim"
            case convKernel = "conv_kernel", convStride = "conv_stride", positionalKernel = "positional_kernel"
            case positionalGroups = "positional_groups", projectorSize = "projector_size", frontEndInit = "front_end_init"
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, seed, steps, schedule, chunk, dropout, model
        case batchSize = "batch_size", evalEvery = "eval_every", adamEpsilon = "adam_epsilon", clipNorm = "clip_norm"
        case timeShiftSamples = "time_shift_samples", normalizeInput = "normalize_input"
    }

    public init(name: String) { self.name = name }

    public func wav2vec2Config(labels: [String]) -> Wav2Vec2Config {
        Wav2Vec2Config(hiddenSize: model.hiddenSize, layers: model.layers, heads: model.heads, intermediateSize: model.intermediateSize,
                       convDim: model.convDim, convKernel: model.convKernel, convStride: model.convStride,
                       positionalKernel: model.positionalKernel, positionalGroups: model.positionalGroups,
                       classifierProjectionSize: model.projectorSize, labels: labels, pooling: model.pooling)
    }

    static let keys = ["name", "seed", "batch_size", "steps", "eval_every", "adam_epsilon", "schedule", "clip_norm", "chunk",
                       "dropout", "time_shift_samples", "normalize_input", "model"]
    static let modelKeys = ["hidden_size", "layers", "heads", "intermediate_size", "conv_dim", "conv_kernel", "conv_stride",
                            "positional_kernel", "positional_groups", "projector_size", "pooling", "front_end_init"]

    /// Reads a YAML teacher config; unknown keys, wrong types and values out of range are one error naming
    /// the file, line and key. `name` defaults to the file's base name.
    public static func load(_ url: URL) throws -> TeacherTrainConfig {
        let m = try YAMLValue.load(url).mapping(allowed: keys)
        var c = TeacherTrainConfig(name: try m["name"].map { try $0.string() } ?? url.deletingPathExtension().lastPathComponent)
        if let v = m["seed"] { c.seed = UInt64(try v.int(in: 0...Int.max)) }
        if let v = m["batch_size"] { c.batchSize = try v.int(in: 1...100_000) }
        if let v = m["steps"] { c.steps = try v.int(in: 1...100_000_000) }
        if let v = m["eval_every"] { c.evalEvery = try v.int(in: 1...100_000_000) }
        if let v = m["adam_epsilon"] { c.adamEpsilon = Float(try v.double(in: 0...1)) }
        if let v = m["clip_norm"] { c.clipNorm = v.isNull ? nil : Float(try v.double(in: 1e-12...1e12)) }
        if let v = m["chunk"] { c.chunk = try v.int(in: 1...100_000) }
        if let v = m["dropout"] { c.dropout = Float(try v.double(in: 0...0.9)) }
        if let v = m["time_shift_samples"] { c.timeShiftSamples = try v.int(in: 0...10_000_000) }
        if let v = m["normalize_input"] { c.normalizeInput = try v.bool() }
        if let v = m["schedule"] { c.schedule = try TrainConfig.scheduleValue(v, steps: c.steps) }
        else { c.schedule = c.schedule.withSteps(c.steps) }
        if let v = m["model"] {
            let d = try v.mapping(allowed: modelKeys)
            func ints(_ key: String) throws -> [Int]? {
                guard let x = d[key] else { return nil }
                let list = try x.list().map { try $0.int(in: 1...100_000) }
                guard !list.isEmpty else { throw x.fail("expected a non-empty list of positive integers") }
                return list
            }
            if let x = d["hidden_size"] { c.model.hiddenSize = try x.int(in: 1...100_000) }
            if let x = d["layers"] { c.model.layers = try x.int(in: 1...1_000) }
            if let x = d["heads"] { c.model.heads = try x.int(in: 1...1_000) }
            if let x = d["intermediate_size"] { c.model.intermediateSize = try x.int(in: 1...1_000_000) }
            if let x = try ints("conv_dim") { c.model.convDim = x }
            if let x = try ints("conv_kernel") { c.model.convKernel = x }
            if let x = try ints("conv_stride") { c.model.convStride = x }
            if let x = d["positional_kernel"] { c.model.positionalKernel = try x.int(in: 1...10_000) }
            if let x = d["positional_groups"] { c.model.positionalGroups = try x.int(in: 1...10_000) }
            if let x = d["projector_size"] { c.model.projectorSize = try x.int(in: 1...100_000) }
            if let x = d["pooling"] { c.model.pooling = try x.choice(["mean", "first"]) }
            if let x = d["front_end_init"] { c.model.frontEndInit = try x.choice(["kaiming", "gabor"]) }
            let mm = c.model
            guard mm.convDim.count == mm.convKernel.count && mm.convKernel.count == mm.convStride.count else {
                throw v.fail("conv_dim, conv_kernel and conv_stride must have the same length (found \(mm.convDim.count), \(mm.convKernel.count), \(mm.convStride.count))")
            }
            guard mm.hiddenSize % mm.heads == 0 else { throw (d["heads"] ?? v).fail("heads \(mm.heads) must divide hidden_size \(mm.hiddenSize)") }
            guard mm.hiddenSize % mm.positionalGroups == 0 else {
                throw (d["positional_groups"] ?? v).fail("positional_groups \(mm.positionalGroups) must divide hidden_size \(mm.hiddenSize)")
            }
        }
        return c
    }
}

/// `tkd teacher train`: trains the bundled teacher on a generated dataset's audio and writes a Hugging
/// Face model folder `out/` (`config.json`, `model.safetensors`, `preprocessor_config.json`: the
/// best-by-validation weights) plus `out/training/` (`config.json`, `state.safetensors` — the last
/// weights and Adam state, for resuming —, `history.jsonl`, `metrics.json`). A rerun with the same
/// config resumes from the state and reproduces the uninterrupted run byte for byte.
public final class TeacherTrainer {
    public let config: TeacherTrainConfig
    public let dataset: URL
    public let out: URL
    public var jobs = 1
    public var progress: ProgressMode = .auto
    public var stopAfter: Int?
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    let info: DatasetInfo
    let records: [String: ExampleRecord]
    let splits: [Split: [String]]
    let manifestsSHA256: String
    let samples: Int

    public init(config: TeacherTrainConfig, dataset: URL, out: URL) throws {
        self.config = config
        self.dataset = dataset
        self.out = out
        info = try DatasetInfo.load(dataset)
        let all = try DatasetInfo.loadManifests(dataset)
        manifestsSHA256 = try ManifestFingerprint.sha256(dataset: dataset)
        var byID: [String: ExampleRecord] = [:], splits: [Split: [String]] = [:]
        var length: Int?
        for r in all {
            guard r.sampleRate == 16_000 else {
                throw TeacherError.input(path: dataset.appendingPathComponent(r.audio).path, reason: "sample_rate is \(r.sampleRate); expected 16000")
            }
            if let length, r.numSamples != length {
                throw TeacherError.input(path: dataset.appendingPathComponent(r.audio).path,
                                         reason: "num_samples is \(r.numSamples); expected \(length) like the other examples (one length per dataset variant)")
            }
            length = r.numSamples
            byID[r.id] = r
            splits[r.split, default: []].append(r.id)
        }
        guard let length, !(splits[.training] ?? []).isEmpty else {
            throw TeacherError.input(path: dataset.path, reason: "the training manifest holds no examples")
        }
        let c = config.wav2vec2Config(labels: info.labels)
        guard c.frames(samples: length) > 0 else {
            throw TeacherError.input(path: dataset.path, reason: "examples of \(length) samples are too short for conv_kernel/conv_stride")
        }
        records = byID
        self.splits = splits
        samples = length
    }

    var stateURL: URL { out.appendingPathComponent("training/state.safetensors") }

    /// Waveforms [B, L] of `ids` (read in parallel, in order).
    func batch(_ ids: [String], pool: WorkPool) throws -> Tensor {
        let root = dataset, recs = records
        let waves = try pool.map(ids.count) { i -> [Float] in
            let r = recs[ids[i]]!
            let url = root.appendingPathComponent(r.audio)
            let audio = try AudioReader.read(url, options: AudioReadOptions(sampleRate: 16_000, allowResample: false))
            guard audio.samples.count == r.numSamples else {
                throw TeacherError.input(path: url.path, reason: "has \(audio.samples.count) samples; the manifest says \(r.numSamples)")
            }
            return audio.samples
        }
        return Tensor(shape: [ids.count, samples], data: waves.flatMap { $0 })
    }

    /// Metrics of a split, in inference mode.
    func evaluate(_ model: TrainableWav2Vec2, split: Split, pool: WorkPool) throws -> Metrics {
        let ids = splits[split] ?? [], k = info.labels.count
        var scores: [Float] = [], truth: [Int] = [], loss = 0.0
        let run = RunContext(mode: .inference, jobs: jobs, chunkSize: config.chunk)
        for start in stride(from: 0, to: ids.count, by: config.batchSize) {
            let group = Array(ids[start..<min(ids.count, start + config.batchSize)])
            let labels = group.map { records[$0]!.labelIndex }
            let s = Metrics.scores(logits: try model.forward(try batch(group, pool: pool), run).data, classes: k, truth: labels)
            scores += s.scores; truth += labels; loss += s.lossSum
        }
        return Metrics(split: split.rawValue, labels: info.labels, scores: scores, truth: truth, loss: ids.isEmpty ? 0 : loss / Double(ids.count))
    }

    public struct Outcome: Sendable {
        public var validation: Metrics?
        public var test: Metrics?
        public var bestStep: Int
        public var resumedFrom: Int
        public var stoppedAt: Int?
    }

    /// The `config.json` record of how the weights were made.
    func record(step: Int, validation: Double) -> [String: Any] {
        ["tkd_teacher": ["tool": "tkd \(TKDVersion.current)", "dataset": info.name, "manifests_sha256": manifestsSHA256,
                         "train_config": config.name, "step": step, "validation_accuracy": validation, "seed": Int(config.seed)] as [String: Any]]
    }

    func saveState(_ model: TrainableWav2Vec2, optimizer: OptimizerState, step: Int, pending: [Double]) throws {
        let tensors = model.tensors() + optimizer.tensors(model.parameters)
        let meta = ["format": "tkd-teacher-state/1", "step": String(step), "pending": pending.map { "\($0)" }.joined(separator: ","),
                    "manifests_sha256": manifestsSHA256]
        try AtomicFile.write(SafeTensors.encode(tensors, metadata: meta), to: stateURL)
    }

    public func run() throws -> Outcome {
        reuseLargeAllocations()
        let fm = FileManager.default
        let trainingFolder = out.appendingPathComponent("training")
        try fm.createDirectory(at: trainingFolder, withIntermediateDirectories: true)
        let configURL = trainingFolder.appendingPathComponent("config.json")
        let configData = try CanonicalJSON.encodePretty(config)
        if let old = fm.contents(atPath: configURL.path), old != configData {
            throw TeacherError.input(path: configURL.path, reason: "this folder holds a teacher trained with a different config; use another --out or delete it")
        }
        try AtomicFile.write(configData, to: configURL)

        let model = TrainableWav2Vec2(config: config.wav2vec2Config(labels: info.labels), dropout: config.dropout, seed: config.seed,
                                      gaborFrontEnd: config.model.frontEndInit == "gabor")
        model.normalizeInput = config.normalizeInput
        var optimizer = OptimizerState.adam(Adam(epsilon: config.adamEpsilon))
        let params = model.parameters
        var start = 0, history: [HistoryEntry] = [], pending = [0.0, 0, 0]
        let historyURL = trainingFolder.appendingPathComponent("history.jsonl")
        if fm.fileExists(atPath: stateURL.path) {
            let file = try SafeTensorsFile(stateURL)
            guard file.metadata["format"] == "tkd-teacher-state/1", let step = file.metadata["step"].flatMap(Int.init) else {
                throw TeacherError.input(path: stateURL.path, reason: "not a tkd teacher training state")
            }
            guard file.metadata["manifests_sha256"] == manifestsSHA256 else {
                throw TeacherError.input(path: stateURL.path, reason: "was trained on other manifests (\(file.metadata["manifests_sha256"]?.prefix(12) ?? "?")); expected \(manifestsSHA256.prefix(12))")
            }
            for p in params {
                guard file.entries[p.name]?.shape == p.shape else { throw TeacherError.missingTensor(path: stateURL.path, name: p.name) }
                p.value = try file.values(p.name)
            }
            try optimizer.restore(from: file, parameters: params, step: step)
            pending = (file.metadata["pending"] ?? "").split(separator: ",").compactMap { Double($0) }
            if pending.count != 3 { pending = [0, 0, 0] }
            start = step
            if let h = fm.contents(atPath: historyURL.path) {
                history = try CanonicalJSON.decodeLines(HistoryEntry.self, from: h, path: historyURL.path).filter { $0.step <= start }
            }
            log("resuming teacher \(config.name) from step \(start) (\(stateURL.path))")
        }
        var bestAccuracy = history.filter(\.best).map(\.validationAccuracy).max() ?? -1
        let pool = WorkPool(jobs: jobs)
        let reporter = ProgressReporter(label: "teacher \(config.name) steps", total: config.steps, mode: progress)
        reporter.advance(by: start)
        let k = info.labels.count
        var step = start
        while step < config.steps {
            if let stopAfter, step - start >= stopAfter {
                try saveState(model, optimizer: optimizer, step: step, pending: pending)
                reporter.finish()
                log("stopped after \(stopAfter) step(s) at step \(step) of \(config.steps); run the same command again to resume")
                return Outcome(validation: nil, test: nil, bestStep: history.last(where: \.best)?.step ?? 0, resumedFrom: start, stoppedAt: step)
            }
            step += 1
            let ids = EpochShuffle.batch(splits[.training]!, batchSize: config.batchSize, seed: config.seed, step: step)
            var x = try batch(ids, pool: pool)
            if config.timeShiftSamples > 0 {
                var rng = CounterRNG(seed: config.seed, key: ["teacher", "time-shift", String(step)])
                let l = samples
                for e in 0..<x.batch {
                    let d = rng.uniformInt(-config.timeShiftSamples...config.timeShiftSamples)
                    guard d != 0 else { continue }
                    let old = Array(x.data[(e * l)..<((e + 1) * l)])
                    for j in 0..<l { let s = j - d; x.data[e * l + j] = s >= 0 && s < l ? old[s] : 0 }
                }
            }
            let run = RunContext(mode: .training, jobs: jobs, chunkSize: config.chunk, seed: config.seed, step: step)
            let logits = try model.forward(x, run)
            var p = [Float](repeating: 0, count: logits.data.count)
            Softmax.forward(logits.data, rows: ids.count, width: k, into: &p)
            var loss = 0.0, correct = 0
            var grad = p
            for (i, id) in ids.enumerated() {
                let y = records[id]!.labelIndex
                loss -= Foundation.log(max(Double(p[i * k + y]), 1e-30))
                var best = 0
                for j in 1..<k where p[i * k + j] > p[i * k + best] { best = j }
                if best == y { correct += 1 }
                grad[i * k + y] -= 1
            }
            loss /= Double(ids.count)
            guard loss.isFinite else {
                throw TeacherError.input(path: out.path, reason: "the loss became \(loss) at step \(step); lower the learning rate or set clip_norm")
            }
            for i in grad.indices { grad[i] /= Float(ids.count) }
            model.zeroGradients()
            try model.backward(Tensor(shape: logits.shape, data: grad), run)
            if let clip = config.clipNorm {
                _ = Trainer.withGradientBuffers(params[...], []) { clipGlobalNorm($0, maxNorm: clip) }
            }
            let lr = config.schedule.rate(step: step)
            optimizer.update(params, lr: lr)
            pending[0] += loss; pending[1] += Double(correct); pending[2] += Double(ids.count)
            let since = Double(max(1, step - (history.last?.step ?? 0)))
            reporter.status = String(format: "loss %.4f  acc %.1f%%", pending[0] / since, 100 * pending[1] / max(1, pending[2]))
            reporter.advance()

            if step % config.evalEvery == 0 || step == config.steps {
                let v = try evaluate(model, split: .validation, pool: pool)
                let isBest = v.accuracy >= bestAccuracy
                history.append(HistoryEntry(step: step, learningRate: lr, trainLoss: pending[0] / since, trainCrossEntropy: pending[0] / since,
                                            trainAttentionKD: 0, trainAccuracy: pending[1] / max(1, pending[2]),
                                            validationAccuracy: v.accuracy, validationLoss: v.loss, best: isBest))
                pending = [0, 0, 0]
                if isBest {
                    bestAccuracy = v.accuracy
                    try model.save(to: out, extraConfig: record(step: step, validation: v.accuracy))
                }
                try saveState(model, optimizer: optimizer, step: step, pending: pending)
                try AtomicFile.write(try CanonicalJSON.encodeLines(history), to: historyURL)
            }
        }
        reporter.finish()
        let best = TrainableWav2Vec2(config: model.config, seed: config.seed)
        try best.load(out)
        let validation = try evaluate(best, split: .validation, pool: pool)
        let test = try evaluate(best, split: .testing, pool: pool)
        let bestStep = history.last(where: \.best)?.step ?? step
        let metrics: [String: Any] = ["best_step": bestStep, "steps": config.steps,
                                      "validation": try JSONSerialization.jsonObject(with: CanonicalJSON.encode(validation)),
                                      "test": try JSONSerialization.jsonObject(with: CanonicalJSON.encode(test))]
        let data = try JSONSerialization.data(withJSONObject: metrics, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data + Data("\n".utf8), to: trainingFolder.appendingPathComponent("metrics.json"))
        return Outcome(validation: validation, test: test, bestStep: bestStep, resumedFrom: start, stoppedAt: nil)
    }
}
