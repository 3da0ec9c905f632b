import ArgumentParser
import Foundation
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

    @Option(help: "Override eval_every (validate every N steps; the best checkpoint is chosen among them).")
    var evalEvery: Int?

    @Option(help: "Override the seed.")
    var seed: UInt64?

    @Option(help: "Run name (default: the config's name, with -lambda<L> appended when --kd-lambda is given).")
    var name: String?

    @Option(help: "Folder that holds the run folders.")
    var runs: String = "runs"

    @OptionGroup var stop: StopOptions

    @OptionGroup var options: RunOptions

    func validate() throws {
        if let kdLambda, !(kdLambda >= 0 && kdLambda.isFinite) {
            throw ValidationError("--kd-lambda must be ≥ 0; got \(kdLambda).")
        }
        if let kdTarget, KDTarget(kdTarget) == nil {
            throw ValidationError("--kd-target: \(KDTarget.problem(kdTarget)).")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be positive; got \(steps).") }
        if let evalEvery, evalEvery < 1 { throw ValidationError("--eval-every must be positive; got \(evalEvery).") }
    }

    func run() throws {
        var c = try TrainConfig.load(URL(fileURLWithPath: config))
        if let kdLambda {
            c.kd.lambda = Float(kdLambda)
            if name == nil { c.name += "-lambda\(Self.short(kdLambda))" }
        }
        if let kdTarget, let target = KDTarget(kdTarget) { c.kd.target = target }
        if let steps { c.overrideSteps(steps) }
        if let evalEvery { c.evalEvery = evalEvery }
        if let seed {
            c.seed = seed
            if name == nil { c.name += "-seed\(seed)" }
        }
        if let name { c.name = name }
        let trainer = try Trainer(config: c, dataset: URL(fileURLWithPath: dataset), runs: URL(fileURLWithPath: runs))
        trainer.options = options.session(stop: stop)
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
            "\(c.name): \(c.student.rawValue), λ = \(Self.short(Double(c.kd.lambda)))"
                + (c.kd.lambda > 0 ? " (\(c.kd.target))" : "") + ", best step \(m.bestStep) of \(m.steps)"
        )
        say(Metrics.headline(validation: m.validation, test: m.test))
        say("run folder: \(outcome.folder.path)")
    }

    static func short(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }
}
