import ArgumentParser
import Foundation
import Teacher
import TrainingLoop

/// `tkd teacher train --dataset D --config C --out DIR`: the bundled teacher.
struct TeacherTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract:
            "Train the bundled compact wav2vec 2.0 teacher on a dataset's audio; writes a Hugging Face model folder.",
        discussion: """
            DIR receives config.json, model.safetensors (the best weights by validation accuracy; mAP on \
            multi-label data, with problem_type multi_label_classification) and preprocessor_config.json — \
            loadable by `tkd teacher cache --teacher DIR` and by transformers' \
            Wav2Vec2ForSequenceClassification — and DIR/training/ (config, resumable state, history, metrics). \
            Running the same command again resumes an interrupted run.
            """)

    @Option(help: "The dataset folder (tkd generate; 16-kHz audio of one length).")
    var dataset: String

    @Option(help: "Teacher config YAML (Recipes/teacher/*.yaml).")
    var config: String

    @Option(help: "Output model folder.")
    var out: String

    @Option(
        name: .customLong("init"),
        help: """
            Fine-tune this pretrained Hugging Face wav2vec 2.0 folder (config.json + model.safetensors; base or \
            large/XLSR layout) instead of training the bundled teacher from scratch: every encoder weight is \
            loaded and a fresh head added (the config's 'finetune' section: pooling, freezing, head size).
            """)
    var initFolder: String?

    @Option(help: "Override steps (the schedule is spread over them).")
    var steps: Int?

    @OptionGroup var stop: StopOptions

    @OptionGroup var options: RunOptions

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be positive; got \(steps).") }
    }

    func run() throws {
        var c = try TeacherTrainConfig.load(URL(fileURLWithPath: config))
        if let steps { c.overrideSteps(steps) }
        let trainer = try TeacherTrainer(
            config: c, dataset: URL(fileURLWithPath: dataset), out: URL(fileURLWithPath: out),
            initFolder: initFolder.map { URL(fileURLWithPath: $0) })
        trainer.options = options.session(stop: stop)
        let outcome = try trainer.run()
        guard let result = outcome.result else {
            say(
                "teacher \(c.name): stopped at step \(outcome.stoppedAt ?? 0) of \(c.steps); run the same command "
                    + "again to resume"
            )
            return
        }
        say("teacher \(c.name): best step \(result.bestStep) of \(c.steps)")
        say(Metrics.headline(validation: result.validation, test: result.test))
        say("model folder: \(out)")
    }
}
