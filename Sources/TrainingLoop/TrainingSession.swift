import DatasetFormat
import Foundation
import Layers
import TKDCore

/// The one training loop (students and the bundled teacher): minibatches from a per-epoch shuffle keyed by
/// (seed, epoch), the task's augmentation keyed by (seed, step), the `Objective` (CE + λ·KL + optional logit
/// KD), validation every `evalEvery` steps, the best model kept by validation accuracy (ties to the later
/// step), and at the end the best model's validation and test metrics.
///
/// In the task's run folder (`RunLayout`): `config.json` (another config there is refused), `metrics.json` (the
/// best model's validation and test metrics, `RunResult`), `history.jsonl` (one line per
/// validation) and the resumable state (`TrainingState`: weights + optimiser state). A rerun resumes from the
/// state and reproduces the uninterrupted run byte for byte, whatever `--jobs`; `stopAfter` ends an
/// invocation early, saving the state with the loss sums since the last validation.
public final class TrainingSession<Task: TrainingTask> {
    public let task: Task
    public let options: SessionOptions

    public init(_ task: Task, options: SessionOptions = SessionOptions()) {
        self.task = task
        self.options = options
    }

    var jobs: Int { options.jobs }
    var progress: ProgressMode { options.progress }
    var stopAfter: Int? { options.stopAfter }
    var log: (String) -> Void { options.log }

    public struct Outcome {
        /// The best model's metrics as written to `metrics.json`; nil when `stopAfter` ended the invocation.
        public var result: RunResult<Task.ResultDetails>?
        public var resumedFrom: Int
        /// Set when `stopAfter` ended the invocation before the last step.
        public var stoppedAt: Int?
    }

    /// Runs (or resumes) the task.
    /// - Throws: `TrainingLoopError` for another run in the folder, an unusable state or a diverged loss; the
    ///   task's errors for bad data.
    public func run() throws -> Outcome {
        reuseLargeAllocations()
        let fm = FileManager.default
        let s = task.settings
        let layout = task.runFolder
        let folder = layout.folder
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        // Temporaries a killed run of this host left (never a live process's).
        AtomicFile.removeStaleTemporaries(in: folder)
        let configURL = layout.config
        let configData = try task.configData()
        if let old = try RegularFile.contents(configURL), old != configData {
            let d = Self.firstDifference(old, configData)
            throw TrainingLoopError.runMismatch(path: configURL.path, field: d.field, run: d.old, requested: d.new)
        }
        try AtomicFile.write(configData, to: configURL, durable: true)

        let model = try task.makeModel()
        var optimizer = OptimizerState(s.optimizer)
        var history: [HistoryEntry] = []
        var start = 0
        var pending: [Double]?
        let historyURL = layout.history
        let stateURL = task.stateURL
        if fm.fileExists(atPath: stateURL.path) {
            let (info, file) = try TrainingState.open(stateURL, as: Task.StateDetails.self)
            guard info.details.config == task.config else {
                throw TrainingLoopError.runMismatch(
                    path: stateURL.path, field: "config", run: "a different config", requested: "this one")
            }
            guard info.manifestsSHA256 == task.manifestsSHA256 else {
                throw TrainingLoopError.runMismatch(
                    path: stateURL.path, field: "dataset manifests",
                    run: String(info.manifestsSHA256.prefix(12)),
                    requested: String(task.manifestsSHA256.prefix(12)))
            }
            try TrainingState.load(model.stateParameters, from: file)
            try optimizer.restore(from: file, parameters: model.trainableParameters, step: info.step)
            start = info.step
            if let h = try RegularFile.contents(historyURL) {
                history = try CanonicalJSON.decodeLines(HistoryEntry.self, from: h, path: historyURL.path).filter {
                    $0.step <= start
                }
            }
            pending = info.pendingSums
            log("resuming \(task.displayName) from step \(start) (\(stateURL.path))")
        }
        var bestScore = history.filter(\.best).map(\.selectionScore).max() ?? -1

        let reporter = ProgressReporter(label: "\(task.displayName) steps", total: s.steps, mode: progress)
        reporter.advance(by: start)
        var sums = (loss: 0.0, ce: 0.0, kd: 0.0, correct: 0, seen: 0)
        if let p = pending { sums = (p[0], p[1], p[2], Int(p[3]), Int(p[4])) }  // five, checked on open
        let trainingIDs = task.ids(.training)
        let balanced =
            task.sampling == .classBalanced
            ? ClassBalancedSampler(ids: trainingIDs, labelSets: { task.labelSet($0) }) : nil
        var step = start
        let began = Date()
        while step < s.steps {
            let outOfSteps = stopAfter.map { step - start >= $0 } ?? false
            let outOfTime =
                options.stopAfterSeconds.map { step > start && Date().timeIntervalSince(began) >= $0 } ?? false
            if outOfSteps || outOfTime {
                let info = task.stateInfo(
                    step: step, validationAccuracy: nil, optimizer: optimizer.kind,
                    pendingSums: [sums.loss, sums.ce, sums.kd, Double(sums.correct), Double(sums.seen)])
                try TrainingState.save(
                    model.stateParameters, optimizer: optimizer.tensors(model.trainableParameters), info: info,
                    to: stateURL)
                reporter.finish()
                log(
                    "stopped after \(step - start) step(s)\(outOfTime ? " (the time limit)" : "") at step \(step) of "
                        + "\(s.steps); run the same command again to resume"
                )
                return Outcome(result: nil, resumedFrom: start, stoppedAt: step)
            }
            step += 1
            let ids =
                balanced?.batch(batchSize: s.batchSize, seed: s.seed, step: step)
                ?? EpochShuffle.batch(trainingIDs, batchSize: s.batchSize, seed: s.seed, step: step)
            var batch = try task.trainingBatch(ids, step: step)
            if let ml = task.multiLabel { batch.multiLabelTargets = ml.targets(ids) }
            let run = RunContext(mode: .training, jobs: jobs, chunkSize: s.chunk, seed: s.seed, step: step)
            let lr = s.schedule.rate(step: step)
            let r = try TrainingStep.run(
                model, optimizer: &optimizer, input: batch.input, labels: batch.labels,
                targets: batch.targets, teacherLogits: batch.teacherLogits,
                multiLabelTargets: batch.multiLabelTargets, objective: s.objective,
                learningRate: lr, clipNorm: s.clipNorm, run: run)
            guard r.loss.isFinite else { throw TrainingLoopError.diverged(path: folder.path, step: step, loss: r.loss) }
            sums.loss += r.loss
            sums.ce += r.crossEntropy
            sums.kd += r.attentionKD
            sums.correct += r.correct
            sums.seen += ids.count
            // Sums (restored ones included) run since the last validation.
            reporter.status = String(
                format: "loss %.4f  acc %.1f%%", sums.loss / Double(max(1, step - (history.last?.step ?? 0))),
                100 * Double(sums.correct) / Double(max(1, sums.seen)))
            reporter.advance()

            if step % s.evalEvery == 0 || step == s.steps {
                let v = try evaluate(model, split: .validation)
                let n = Double(max(1, step - (history.last?.step ?? 0)))
                let isBest = v.selectionScore >= bestScore
                history.append(
                    HistoryEntry(
                        step: step, learningRate: lr, trainLoss: sums.loss / n, trainCrossEntropy: sums.ce / n,
                        trainAttentionKD: sums.kd / n,
                        trainAccuracy: Double(sums.correct) / Double(max(1, sums.seen)),
                        validationAccuracy: v.accuracy, validationLoss: v.loss, best: isBest,
                        validationMAP: v.multiLabel?.macroAveragePrecision))
                sums = (0, 0, 0, 0, 0)
                // Best, then history, then the state: a kill between any two resumes from the previous state,
                // which redoes these steps exactly and writes the same best and history again (history lines
                // after the state's step are dropped on resume). The state last means it never runs ahead of the
                // history that decides the best.
                if isBest {
                    bestScore = v.selectionScore
                    try task.saveBest(model, step: step, validationAccuracy: v.accuracy)
                }
                try AtomicFile.write(try CanonicalJSON.encodeLines(history), to: historyURL, durable: true)
                let info = task.stateInfo(
                    step: step, validationAccuracy: v.accuracy, optimizer: optimizer.kind, pendingSums: nil)
                try TrainingState.save(
                    model.stateParameters, optimizer: optimizer.tensors(model.trainableParameters), info: info,
                    to: stateURL)
            }
        }
        reporter.finish()

        let best = try task.loadBest()
        let validation = try evaluate(best.model, split: .validation)
        let test = try evaluate(best.model, split: .testing)
        let bestStep = best.step ?? history.last(where: \.best)?.step ?? step
        let result = RunResult(
            bestStep: bestStep, steps: s.steps, validation: validation, test: test, details: task.resultDetails())
        try AtomicFile.write(try CanonicalJSON.encodePretty(result), to: layout.metrics, durable: true)
        return Outcome(result: result, resumedFrom: start, stoppedAt: nil)
    }

    /// The model's metrics on a split, in batches of the run's batch size.
    public func evaluate(_ model: Task.Model, split: Split) throws -> Metrics {
        let s = task.settings
        if let ml = task.multiLabel {
            return try Evaluation.metrics(
                model, task: ml, split: split, ids: task.ids(split), labels: task.labels, batchSize: s.batchSize,
                jobs: jobs, chunk: s.chunk
            ) { try task.evaluationInput($0).input }
        }
        return try Evaluation.metrics(
            model, split: split, ids: task.ids(split), labels: task.labels, batchSize: s.batchSize,
            jobs: jobs, chunk: s.chunk
        ) { try task.evaluationInput($0) }
    }

    /// The first top-level field where two JSON configs differ, as (field, old, new).
    static func firstDifference(_ a: Data, _ b: Data) -> (field: String, old: String, new: String) {
        func fields(_ data: Data) -> [String: String]? {
            guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return obj.mapValues { v in
                (try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
            }
        }
        guard let fa = fields(a), let fb = fields(b) else { return ("config", "an unreadable config", "this one") }
        for key in Set(fa.keys).union(fb.keys).sorted() where fa[key] != fb[key] {
            return (key, fa[key] ?? "nothing", fb[key] ?? "nothing")
        }
        return ("config", "?", "?")
    }
}
