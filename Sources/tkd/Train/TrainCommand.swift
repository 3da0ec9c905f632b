import ArgumentParser
import DatasetFormat
import Foundation
import Layers
import Numerics
import Synthesis
import TKDCore
import Training
import TrainingLoop

/// `tkd train --dataset D --config C [--kd-lambda L] [--kd-target oracle|teacher:<fp>] [--jobs N]`
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a student on a dataset's feature store, with temporal attention distillation when λ > 0.",
        discussion: """
            Writes RUNS/<name>/: config.json, best.safetensors/.json (the best-by-validation inference checkpoint), \
            last.safetensors/.json (weights + optimiser state), history.jsonl (one line per validation) and \
            metrics.json \
            (validation and test metrics of the best checkpoint). Re-running the same command resumes from last and \
            reproduces the uninterrupted run exactly; a run folder holding a different config is refused. \
            Deterministic for a seed whatever --jobs. Config fields: Recipes/train/README.md.
            """)

    @Option(help: "The dataset folder (tkd generate), with the student's feature store (tkd features).")
    var dataset: String

    @Option(help: "Training config YAML (Recipes/train/<student>.yaml).")
    var config: String

    @Option(name: .customLong("kd-lambda"), help: "Override kd.lambda (λ of the attention term; 0 = no distillation).")
    var kdLambda: Double?

    @Option(
        name: .customLong("kd-target"),
        help: ArgumentHelp(
            "Override kd.target: oracle, teacher (the dataset's only cache in DATASET/teachers/) or "
                + "teacher:<fingerprint>.")
    )
    var kdTarget: String?

    @Option(help: "Override steps (the exp schedule is spread over them).")
    var steps: Int?

    @Option(help: "Override the seed.")
    var seed: UInt64?

    @Option(help: "Run name (default: the config's name, with -lambda<L> appended when --kd-lambda is given).")
    var name: String?

    @Option(help: "Folder that holds the run folders.")
    var runs: String = "runs"

    @Option(
        name: .customLong("stop-after"),
        help:
            "Train at most N steps in this invocation, save a resumable checkpoint and exit 0 (for time-limited jobs).")
    var stopAfter: Int?

    @OptionGroup var options: RunOptions

    func validate() throws {
        if let kdLambda, !(kdLambda >= 0 && kdLambda.isFinite) {
            throw ValidationError("--kd-lambda must be ≥ 0; got \(kdLambda).")
        }
        if let kdTarget, KDTarget(kdTarget) == nil {
            throw ValidationError("--kd-target must be \(KDTarget.expected); got '\(kdTarget)'.")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be positive; got \(steps).") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be positive; got \(stopAfter).") }
    }

    func run() throws {
        var c = try TrainConfig.load(URL(fileURLWithPath: config))
        if let kdLambda {
            c.kd.lambda = Float(kdLambda)
            if name == nil { c.name += "-lambda\(Self.short(kdLambda))" }
        }
        if let kdTarget { c.kd.target = try KDTarget(parsing: kdTarget, field: "--kd-target") }
        if let steps {
            c.steps = steps
            c.schedule = c.schedule.withSteps(steps)
        }
        if let seed {
            c.seed = seed
            if name == nil { c.name += "-seed\(seed)" }
        }
        if let name { c.name = name }
        let trainer = try Trainer(config: c, dataset: URL(fileURLWithPath: dataset), runs: URL(fileURLWithPath: runs))
        trainer.options = options.session(stopAfter: stopAfter)
        let outcome = try trainer.run()
        guard let m = outcome.metrics else {
            say(
                "\(c.name): stopped at step \(outcome.stoppedAt ?? 0) of \(c.steps); run the same command again to "
                    + "resume"
            )
            say("run folder: \(outcome.folder.path)")
            return
        }
        say(
            "\(c.name): \(c.student.rawValue), λ = \(Self.short(Double(c.kd.lambda))) (\(c.kd.target)), best step "
                + "\(m.bestStep) of \(m.steps)"
        )
        say(
            String(
                format: "validation accuracy %.2f %%, test accuracy %.2f %% (test mAP %.4f)",
                100 * m.validation.accuracy, 100 * m.test.accuracy, m.test.meanAveragePrecision))
        say("run folder: \(outcome.folder.path)")
    }

    static func short(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }
}

/// `tkd evaluate --checkpoint CK --dataset D [--split testing] [--json] [--out F]`
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a checkpoint on a dataset split: accuracy, per-class precision/recall, confusion matrix, mAP.",
        discussion: """
            Uses the inference model only (the training-only KD query is ignored). The dataset must carry the \
            checkpoint's feature preset and the same label map. Writes the metrics JSON to --out (default: \
            <checkpoint stem>.<split>-metrics.json next to the checkpoint).
            """)

    @Option(help: "A checkpoint .safetensors written by tkd train (best.safetensors or last.safetensors).")
    var checkpoint: String

    @Option(help: "The dataset folder.")
    var dataset: String

    @Option(help: "training, validation or testing.")
    var split: String = "testing"

    @Option(help: "Where to write the metrics JSON.")
    var out: String?

    @Flag(help: "Print the metrics JSON instead of the table.")
    var json = false

    @OptionGroup var options: RunOptions

    func validate() throws {
        guard Split(rawValue: split) != nil else {
            throw ValidationError("--split must be training, validation or testing; got '\(split)'.")
        }
    }

    func run() throws {
        let url = URL(fileURLWithPath: checkpoint)
        let (info, file) = try Checkpoint.open(url)
        let data = try TrainingData(
            dataset: URL(fileURLWithPath: dataset), preset: info.featurePreset,
            featureCount: info.student.featureCount, student: info.student.rawValue)
        guard data.labels == info.labels else {
            throw TrainingError.checkpoint(
                path: url.path,
                reason:
                    "label map \(info.labels.joined(separator: ",")) differs from the dataset's "
                    + "\(data.labels.joined(separator: ","))"
            )
        }
        let model = try Checkpoint.model(from: info, file: file, includeTrainingOnly: false)
        let metrics = try Evaluator.evaluate(
            model, data: data, split: Split(rawValue: split)!, batchSize: 100,
            jobs: options.jobs, chunk: info.config.chunk)
        let target =
            out.map { URL(fileURLWithPath: $0) }
            ?? url.deletingPathExtension().appendingPathExtension("\(split)-metrics.json")
        let encoded = try CanonicalJSON.encodePretty(metrics)
        try AtomicFile.write(encoded, to: target)
        if json {
            say(String(decoding: encoded, as: UTF8.self))
        } else {
            say("\(info.student.rawValue) step \(info.step) on \(data.info.name) (\(info.featurePreset))")
            say(metrics.report)
            say("metrics: \(target.path)")
        }
    }
}
