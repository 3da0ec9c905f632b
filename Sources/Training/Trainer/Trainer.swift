import DatasetFormat
import Foundation
import Layers
import Numerics
import TensorStore
import TKDCore

/// Runs a model over one split in inference mode (the KD head is not involved) and scores it.
public enum Evaluator {
    public static func evaluate(_ model: StudentModel, data: TrainingData, split: Split, batchSize: Int = 100,
                                jobs: Int = 1, chunk: Int = 25) throws -> Metrics {
        let ids = data.splits[split] ?? []
        let k = model.classes
        var scores = [Float](), truth = [Int]()
        scores.reserveCapacity(ids.count * k)
        var loss = 0.0
        let run = RunContext(mode: .inference, jobs: jobs, chunkSize: chunk)
        for start in stride(from: 0, to: ids.count, by: batchSize) {
            let group = Array(ids[start..<min(ids.count, start + batchSize)])
            let out = try model.forward(try data.batch(group), run)
            let labels = group.map { data.records[$0]!.labelIndex }
            let s = Metrics.scores(logits: out.logits.data, classes: k, truth: labels)
            truth += labels
            loss += s.lossSum
            scores += s.scores
        }
        return Metrics(split: split.rawValue, labels: data.labels, scores: scores, truth: truth,
                       loss: ids.isEmpty ? 0 : loss / Double(ids.count))
    }
}

/// One row of `history.jsonl` (students' runs and the teacher's `training/history.jsonl`, where the
/// attention term is 0 and the loss is the cross-entropy).
public struct HistoryEntry: Sendable, Equatable, Codable {
    public var step: Int
    public var learningRate: Double
    /// Means over the steps since the previous entry.
    public var trainLoss: Double
    public var trainCrossEntropy: Double
    public var trainAttentionKD: Double
    public var trainAccuracy: Double
    public var validationAccuracy: Double
    public var validationLoss: Double
    public var best: Bool

    enum CodingKeys: String, CodingKey {
        case step, best
        case learningRate = "learning_rate", trainLoss = "train_loss", trainCrossEntropy = "train_cross_entropy"
        case trainAttentionKD = "train_attention_kd", trainAccuracy = "train_accuracy"
        case validationAccuracy = "validation_accuracy", validationLoss = "validation_loss"
    }

    public init(step: Int, learningRate: Double, trainLoss: Double, trainCrossEntropy: Double, trainAttentionKD: Double,
                trainAccuracy: Double, validationAccuracy: Double, validationLoss: Double, best: Bool) {
        self.step = step; self.learningRate = learningRate; self.trainLoss = trainLoss; self.trainCrossEntropy = trainCrossEntropy
        self.trainAttentionKD = trainAttentionKD; self.trainAccuracy = trainAccuracy; self.validationAccuracy = validationAccuracy
        self.validationLoss = validationLoss; self.best = best
    }
}

/// Minibatches drawn from a per-epoch shuffle keyed by (seed, epoch): step s (1-based) takes global
/// positions [(s − 1)·B, s·B) of the concatenated epochs, so any step's batch is known without replaying.
public enum EpochShuffle {
    public static func batch(_ ids: [String], batchSize b: Int, seed: UInt64, step: Int) -> [String] {
        let n = ids.count
        var out: [String] = []
        out.reserveCapacity(b)
        var epoch = -1
        var order: [Int] = []
        for g in ((step - 1) * b)..<(step * b) {
            let e = g / n
            if e != epoch {
                epoch = e
                var rng = CounterRNG(seed: seed, key: ["train", "shuffle", String(e)])
                order = Array(0..<n)
                for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, rng.uniformInt(0...i)) }
            }
            out.append(ids[order[g % n]])
        }
        return out
    }
}

/// `metrics.json` of a finished run: the best-by-validation checkpoint's validation and test metrics.
public struct RunMetrics: Sendable, Equatable, Codable {
    public var student: Student
    public var kdLambda: Float
    public var kdTarget: String
    public var bestStep: Int
    public var steps: Int
    public var validation: Metrics
    public var test: Metrics

    enum CodingKeys: String, CodingKey {
        case student, steps, validation, test
        case kdLambda = "kd_lambda", kdTarget = "kd_target", bestStep = "best_step"
    }
}

/// The training loop (the paper's protocol, STUDENTS.md §3): minibatches drawn from a per-epoch
/// shuffle keyed by (seed, epoch), SpecAugment and time shift keyed by (seed, step), the loss
/// CE + λ·KL(a_T ‖ a_S) (+ optional logit KD), validation every `evalEvery` steps, the best checkpoint
/// kept, test metrics of the best checkpoint at the end.
///
/// Run folder `<runs>/<name>/`: `config.json`, `last.safetensors`/`.json` (weights + optimiser state,
/// for resuming), `best.safetensors`/`.json` (the inference checkpoint), `history.jsonl`, `metrics.json`.
/// A rerun with the same config resumes from `last` and reproduces the uninterrupted run exactly.
public final class Trainer {
    public let config: TrainConfig
    public let data: TrainingData
    public let folder: URL
    public var jobs = 1
    public var progress: ProgressMode = .auto
    /// Stop after this many steps in this invocation (saving `last`); a rerun resumes. nil = to the end.
    public var stopAfter: Int?
    /// Where one-line messages go (resume notices, evaluations).
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(config: TrainConfig, dataset: URL, runs: URL) throws {
        guard TrainConfig.validTarget(config.kd.target) else {
            throw TrainingError.teacherCache(path: "kd.target", reason: "expected 'oracle', 'teacher' or 'teacher:<fingerprint>', found '\(config.kd.target)'")
        }
        self.config = config
        data = try TrainingData(dataset: dataset, preset: config.features, featureCount: config.student.featureCount,
                                student: config.student.rawValue)
        folder = runs.appendingPathComponent(config.name)
        if config.kd.target == "teacher" || config.kd.target.hasPrefix("teacher:") {
            teacher = try TeacherTargets(data: data, fingerprint: String(config.kd.target.dropFirst("teacher:".count)))
            if config.timeShiftFrames > 0 && config.kd.interpolation == .index && config.kd.lambda > 0 {
                throw TrainingError.teacherCache(path: "kd.interpolation", reason: "time_shift_frames with a teacher target needs interpolation 'centers' (the target moves with the shifted features)")
            }
            if config.kd.logitWeight > 0 { _ = try teacher!.logits(data.splits[.training]![0], classes: data.labels.count) }
        } else {
            teacher = nil
            if config.kd.logitWeight > 0 {
                throw TrainingError.teacherCache(path: "kd.logit_weight", reason: "logit distillation needs teacher logits from a teacher cache; the oracle target has none")
            }
        }
    }

    /// The teacher cache when `kd.target` is `teacher:<fingerprint>`.
    public let teacher: TeacherTargets?

    var last: URL { folder.appendingPathComponent("last.safetensors") }
    var best: URL { folder.appendingPathComponent("best.safetensors") }

    /// Training example ids of step `step` (1-based) of the epoch-shuffled stream.
    func batchIDs(step: Int) -> [String] {
        EpochShuffle.batch(data.splits[.training]!, batchSize: config.batchSize, seed: config.seed, step: step)
    }

    /// Shifts every example's frames by its own offset in [−S, S] (zero-filled); returns the offsets.
    func timeShift(_ x: inout Tensor, step: Int) -> [Int] {
        let s = config.timeShiftFrames
        guard s > 0 else { return [Int](repeating: 0, count: x.batch) }
        var rng = CounterRNG(seed: config.seed, key: ["train", "time-shift", String(step)])
        let t = x.shape[1], f = x.shape[2]
        var shifts: [Int] = []
        for i in 0..<x.batch {
            let d = rng.uniformInt(-s...s)
            shifts.append(d)
            guard d != 0 else { continue }
            let base = i * t * f
            let old = Array(x.data[base..<(base + t * f)])
            for j in 0..<t {
                let src = j - d
                for k in 0..<f { x.data[base + j * f + k] = src >= 0 && src < t ? old[src * f + k] : 0 }
            }
        }
        return shifts
    }

    public struct Outcome: Sendable {
        public var metrics: RunMetrics?
        public var resumedFrom: Int
        public var folder: URL
        /// Set when `stopAfter` ended the invocation before the last step.
        public var stoppedAt: Int?
    }

    /// Runs (or resumes) the training; returns the final metrics, or — when `stopAfter` ends this invocation
    /// early — `metrics` nil and `stoppedAt` set.
    public func run() throws -> Outcome {
        reuseLargeAllocations()
        let fm = FileManager.default
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let configURL = folder.appendingPathComponent("config.json")
        let configData = try CanonicalJSON.encodePretty(config)
        if let old = fm.contents(atPath: configURL.path), old != configData {
            let previous = (try? JSONDecoder().decode(TrainConfig.self, from: old))
            let field = previous.map { Self.firstDifference($0, config) } ?? ("config", "an unreadable config", "this one")
            throw TrainingError.runMismatch(path: configURL.path, field: field.0, run: field.1, requested: field.2)
        }
        try AtomicFile.write(configData, to: configURL)

        let model = StudentModel(student: config.student, classes: data.labels.count, batchNormMomentum: config.batchNormMomentum)
        model.initialize(seed: config.seed)
        var optimizer = OptimizerState(config.optimizer)
        var history: [HistoryEntry] = []
        var start = 0
        var bestAccuracy = -1.0
        var pending: [Double]?
        if fm.fileExists(atPath: last.path) {
            let (info, file) = try Checkpoint.open(last)
            guard info.config == config else {
                throw TrainingError.runMismatch(path: last.path, field: "config", run: "a different config", requested: "this one")
            }
            guard info.manifestsSHA256 == data.manifestsSHA256 else {
                throw TrainingError.runMismatch(path: last.path, field: "dataset manifests", run: String(info.manifestsSHA256.prefix(12)),
                                                requested: String(data.manifestsSHA256.prefix(12)))
            }
            let restored = try Checkpoint.model(from: info, file: file, includeTrainingOnly: true)
            for (p, q) in zip(model.parameters + [model.kdQuery], restored.parameters + [restored.kdQuery]) { p.value = q.value }
            try optimizer.restore(from: file, parameters: model.trainableParameters, step: info.step)
            start = info.step
            let historyURL = folder.appendingPathComponent("history.jsonl")
            if let h = fm.contents(atPath: historyURL.path) {
                history = try CanonicalJSON.decodeLines(HistoryEntry.self, from: h, path: historyURL.path).filter { $0.step <= start }
            }
            bestAccuracy = history.filter(\.best).map(\.validationAccuracy).max() ?? -1
            pending = info.pendingSums
            log("resuming \(config.name) from step \(start) (\(last.path))")
        }

        let objective = config.objective
        let reporter = ProgressReporter(label: "\(config.name) steps", total: config.steps, mode: progress)
        reporter.advance(by: start)
        var sums = (loss: 0.0, ce: 0.0, kd: 0.0, correct: 0, seen: 0)
        if let p = pending, p.count == 5 { sums = (p[0], p[1], p[2], Int(p[3]), Int(p[4])) }
        let hop = data.storeConfig.frontEnd.hopLength
        let centres = config.student.contextCentres(frames: data.frames, frameCentre: data.frameCentre)
        var step = start
        while step < config.steps {
            if let stopAfter, step - start >= stopAfter {
                var i = info(step: step, validation: nil, optimizer: optimizer.kind)
                i.pendingSums = [sums.loss, sums.ce, sums.kd, Double(sums.correct), Double(sums.seen)]
                try Checkpoint.save(model, info: i, optimizer: optimizer, to: last)
                reporter.finish()
                log("stopped after \(stopAfter) step(s) at step \(step) of \(config.steps); run the same command again to resume")
                return Outcome(metrics: nil, resumedFrom: start, folder: folder, stoppedAt: step)
            }
            step += 1
            let ids = batchIDs(step: step)
            var x = try data.batch(ids)
            let shifts = timeShift(&x, step: step)
            if let aug = config.specAugment {
                var rng = CounterRNG(seed: config.seed, key: ["train", "spec-augment", String(step)])
                let stripes = aug.stripes(frames: x.shape[1], features: x.shape[2], rng: &rng)
                aug.apply(&x.data, examples: x.batch, frames: x.shape[1], features: x.shape[2], stripes: stripes)
            }
            var targets: [Float]?
            if objective.kdLambda > 0 {
                if let teacher {
                    targets = try zip(ids, shifts).flatMap { id, s in
                        try teacher.target(id, steps: centres.count, mode: config.kd.interpolation, studentCentres: centres, shift: s * hop)
                    }
                } else {
                    targets = zip(ids, shifts).flatMap { id, s in
                        AttentionTargets.oracle(data.records[id]!, centres: centres, shift: s * hop)
                    }
                }
            }
            var teacherLogits: [Float]?
            if objective.logitWeight > 0, let teacher {
                teacherLogits = try ids.flatMap { try teacher.logits($0, classes: data.labels.count) }
            }
            let run = RunContext(mode: .training, jobs: jobs, chunkSize: config.chunk, seed: config.seed, step: step)
            let labels = ids.map { data.records[$0]!.labelIndex }
            let lr = config.schedule.rate(step: step)
            let r = try Self.step(model, optimizer: &optimizer, input: x, labels: labels, targets: targets, teacherLogits: teacherLogits,
                                  objective: objective, learningRate: lr, clipNorm: config.clipNorm, run: run)
            guard r.loss.isFinite else {
                throw TrainingError.checkpoint(path: folder.path, reason: "the loss became \(r.loss) at step \(step); lower the learning rate or enable clip_norm")
            }
            sums.loss += r.loss; sums.ce += r.crossEntropy; sums.kd += r.attentionKD
            sums.correct += r.correct; sums.seen += ids.count
            // Sums (restored ones included) run since the last validation.
            reporter.status = String(format: "loss %.4f  acc %.1f%%", sums.loss / Double(max(1, step - (history.last?.step ?? 0))),
                                     100 * Double(sums.correct) / Double(max(1, sums.seen)))
            reporter.advance()

            if step % config.evalEvery == 0 || step == config.steps {
                let v = try Evaluator.evaluate(model, data: data, split: .validation, batchSize: config.batchSize, jobs: jobs,
                                               chunk: config.chunk)
                let n = Double(max(1, step - (history.last?.step ?? 0)))
                let isBest = v.accuracy >= bestAccuracy
                history.append(HistoryEntry(step: step, learningRate: lr, trainLoss: sums.loss / n, trainCrossEntropy: sums.ce / n,
                                            trainAttentionKD: sums.kd / n,
                                            trainAccuracy: Double(sums.correct) / Double(max(1, sums.seen)),
                                            validationAccuracy: v.accuracy, validationLoss: v.loss, best: isBest))
                sums = (0, 0, 0, 0, 0)
                if isBest {
                    bestAccuracy = v.accuracy
                    try Checkpoint.save(model, info: info(step: step, validation: v.accuracy, optimizer: nil), optimizer: nil, to: best)
                }
                try Checkpoint.save(model, info: info(step: step, validation: v.accuracy, optimizer: optimizer.kind), optimizer: optimizer, to: last)
                try AtomicFile.write(try CanonicalJSON.encodeLines(history), to: folder.appendingPathComponent("history.jsonl"))
            }
        }
        reporter.finish()

        let (bestInfo, bestFile) = try Checkpoint.open(best)
        let chosen = try Checkpoint.model(from: bestInfo, file: bestFile, includeTrainingOnly: false)
        let validation = try Evaluator.evaluate(chosen, data: data, split: .validation, batchSize: config.batchSize, jobs: jobs, chunk: config.chunk)
        let test = try Evaluator.evaluate(chosen, data: data, split: .testing, batchSize: config.batchSize, jobs: jobs, chunk: config.chunk)
        let metrics = RunMetrics(student: config.student, kdLambda: config.kd.lambda, kdTarget: config.kd.target,
                                 bestStep: bestInfo.step, steps: config.steps, validation: validation, test: test)
        try AtomicFile.write(try CanonicalJSON.encodePretty(metrics), to: folder.appendingPathComponent("metrics.json"))
        return Outcome(metrics: metrics, resumedFrom: start, folder: folder, stoppedAt: nil)
    }

    /// One optimisation step: forward, loss, backward, optional global-norm clipping, optimiser update.
    public static func step(_ model: StudentModel, optimizer: inout OptimizerState, input x: Tensor, labels: [Int], targets: [Float]?,
                            teacherLogits: [Float]? = nil, objective: Objective, learningRate lr: Double, clipNorm: Float?,
                            run: RunContext) throws -> Objective.Result {
        let out = try model.forward(x, run)
        model.zeroGradients()
        let r = objective.evaluate(logits: out.logits, labels: labels, context: out.context, query: model.kdQuery,
                                   targets: targets, teacherLogits: teacherLogits)
        guard r.loss.isFinite else { return r }
        try model.backward(logitGradient: r.logitGradient, contextGradient: r.contextGradient, run)
        let params = model.trainableParameters
        if let clip = clipNorm {
            _ = withGradientBuffers(params[...], []) { clipGlobalNorm($0, maxNorm: clip) }
        }
        optimizer.update(params, lr: lr)
        return r
    }

    /// Calls `body` with every parameter's gradient as a mutable buffer at once (for `clipGlobalNorm`).
    public static func withGradientBuffers<R>(_ params: ArraySlice<Parameter>, _ buffers: [UnsafeMutableBufferPointer<Float>],
                                       _ body: ([UnsafeMutableBufferPointer<Float>]) -> R) -> R {
        guard let first = params.first else { return body(buffers) }
        return first.gradient.withUnsafeMutableBufferPointer { withGradientBuffers(params.dropFirst(), buffers + [$0], body) }
    }

    func info(step: Int, validation: Double?, optimizer: String?) -> CheckpointInfo {
        CheckpointInfo(student: config.student, classes: data.labels.count, labels: data.labels, featurePreset: config.features,
                       frames: data.frames, step: step, config: config, kdLambda: config.kd.lambda,
                       kdTemperature: config.kd.temperature, kdTarget: config.kd.target,
                       teacherFingerprint: teacher?.fingerprint,
                       trainingOnly: ["kd.query"], optimizer: optimizer, validationAccuracy: validation,
                       datasetName: data.info.name, manifestsSHA256: data.manifestsSHA256)
    }

    /// The first top-level field where two configs differ, as (field, old, new).
    static func firstDifference(_ a: TrainConfig, _ b: TrainConfig) -> (String, String, String) {
        func fields(_ c: TrainConfig) -> [String: String] {
            guard let data = try? CanonicalJSON.encode(c),
                  let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
            return obj.mapValues { v in
                (try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
            }
        }
        let fa = fields(a), fb = fields(b)
        for key in Set(fa.keys).union(fb.keys).sorted() where fa[key] != fb[key] {
            return (key, fa[key] ?? "nothing", fb[key] ?? "nothing")
        }
        return ("config", "?", "?")
    }
}
