import ArgumentParser
import AudioIO
import DatasetFormat
import Foundation
import Layers
import Numerics
import TKDCore
import Teacher
import TensorStore

extension Rollout.Fusion: ExpressibleByArgument {}
extension Rollout.Query: ExpressibleByArgument {}

/// `tkd teacher …`: the wav2vec 2.0 teacher.
struct TeacherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teacher",
        abstract:
            "The wav2vec 2.0 teacher: train the bundled one, per-layer attentions and rollout, the attention cache.",
        subcommands: [TeacherTrainCommand.self, TeacherAttentionsCommand.self, TeacherCacheCommand.self])
}

/// Rollout settings shared by the teacher commands.
struct RolloutOptions: ParsableArguments {
    @Option(help: "Head fusion per layer: mean, max or min.")
    var fusion: Rollout.Fusion = .mean

    @Option(help: "Residual weight w in (1 − w)·A + w·I.")
    var residual: Float = 0.5

    @Option(help: "Share of each row's smallest attentions set to zero before the residual (the diagonal is kept).")
    var discard: Float = 0

    @Option(help: "Query row: first, mean, or auto (mean for the mean-pooling classification head).")
    var query: Rollout.Query = .auto

    var rollout: Rollout { Rollout(fusion: fusion, residual: residual, discard: discard, query: query) }

    func validate() throws {
        guard residual >= 0 && residual <= 1 else {
            throw ValidationError("--residual must be in [0, 1]; got \(residual).")
        }
        guard discard >= 0 && discard < 1 else { throw ValidationError("--discard must be in [0, 1); got \(discard).") }
    }
}

/// `tkd teacher attentions --teacher DIR FILE --out F.safetensors [--rollout] [rollout options] [--resample]`
struct TeacherAttentionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attentions",
        abstract:
            "Run the teacher on one audio file: logits, per-layer attentions and, with --rollout, the rollout vector.",
        discussion: """
            Writes a safetensors file with `logits` [labels] (when the model has a classification head), `layer.<i>` \
            [heads, T, T] for every layer (rows are queries) and, with --rollout, `rollout` [T] (sums to 1). The \
            waveform goes in as read (16 kHz; no normalisation).
            """)

    @Option(help: "A Hugging Face wav2vec 2.0 model folder (config.json + model.safetensors).")
    var teacher: String

    @Argument(help: "An audio file (16 kHz, or any rate with --resample).")
    var file: String

    @Option(help: "Output .safetensors file.")
    var out: String

    @Flag(help: "Also write the attention rollout.")
    var rollout = false

    @OptionGroup var rolloutOptions: RolloutOptions

    @Flag(help: "Resample to 16 kHz instead of refusing other rates.")
    var resample = false

    func run() throws {
        let model = try Wav2Vec2Model(folder: URL(fileURLWithPath: teacher))
        let audio = try AudioReader.read(
            URL(fileURLWithPath: file), options: AudioReadOptions(sampleRate: 16_000, allowResample: resample))
        let output = try model.forward(audio.samples)
        let t = output.frames, heads = model.config.heads
        var tensors: [SafeTensors.Tensor] = []
        if let logits = output.logits { tensors.append(.init(name: "logits", shape: [logits.count], values: logits)) }
        for (i, a) in output.attentions.enumerated() {
            tensors.append(.init(name: "layer.\(i)", shape: [heads, t, t], values: a))
        }
        var vector: [Float]?
        if rollout {
            vector = rolloutOptions.rollout.vector(
                output.attentions, heads: heads, frames: t, meanPooling: model.config.pooling == .mean)
            tensors.append(.init(name: "rollout", shape: [t], values: vector!))
        }
        let data = SafeTensors.encode(
            tensors,
            metadata: [
                "format": "tkd-teacher-attentions/1", "teacher": teacher,
                "frames": String(t), "file": file,
            ])
        try AtomicFile.write(data, to: URL(fileURLWithPath: out))
        var line = "\(file): \(t) frames, \(model.config.layers) layers × \(heads) heads"
        if let logits = output.logits, let best = logits.indices.max(by: { logits[$0] < logits[$1] }) {
            line += ", top class \(model.config.id2label[best] ?? String(best))"
        }
        if let v = vector, let peak = v.indices.max(by: { v[$0] < v[$1] }) {
            line += ", rollout peak at frame \(peak) of \(t)"
        }
        say(line)
        say("wrote \(out)")
    }
}

/// `tkd teacher cache --dataset D --teacher DIR [rollout options] [--dtype float32|float16] [--jobs N] [--shard I/N]`
struct TeacherCacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract:
            "Write DATASET/teachers/<fingerprint>/: every example's rollout (teacher frames) and logits, for tkd "
            + "train --kd-target teacher:<fingerprint>.",
        discussion: """
            The fingerprint hashes the teacher's weights, its config and the rollout settings. Shards of 1,024 \
            examples \
            in manifest order (`rollout/<id>`, `logits/<id>`), index.json with SHA-256 per shard, cache.json with the \
            settings and a summary: the teacher's validation and test accuracy (when its labels are the dataset's) and \
            how well the rollout finds the keyword (mass inside the recorded speech span, peak-in-span rate). \
            Deterministic whatever --jobs or --shard; a rerun keeps finished shards and recomputes those whose audio \
            changed.
            """)

    @Option(help: "The dataset folder (16-kHz audio).")
    var dataset: String

    @Option(help: "A Hugging Face wav2vec 2.0 model folder.")
    var teacher: String?

    @Option(
        name: .customLong("import"),
        help: ArgumentHelp(
            "Instead of --teacher: a folder of per-example exports <id>.safetensors (layer.<i> attentions or a "
                + "rollout, optional logits; see README.md).")
    )
    var importFolder: String?

    @OptionGroup var rolloutOptions: RolloutOptions

    @Option(help: "Stored element type: float32 or float16.")
    var dtype: TensorDType = .float32

    @Option(help: "Make part I of N (0-based) of the cache's shards. Defaults to the Slurm array variables when set.")
    var shard: String?

    @OptionGroup var options: RunOptions

    func validate() throws {
        guard (teacher == nil) != (importFolder == nil) else {
            throw ValidationError("give exactly one of --teacher DIR and --import DIR.")
        }
    }

    func run() throws {
        var b = TeacherCacheBuilder(
            dataset: URL(fileURLWithPath: dataset), teacher: URL(fileURLWithPath: teacher ?? "."))
        b.importFolder = importFolder.map { URL(fileURLWithPath: $0) }
        b.rollout = rolloutOptions.rollout
        b.dtype = dtype
        b.jobs = options.jobs
        b.progress = options.progressMode
        b.shard = try Shard.resolve(shard)
        let r = try b.run()
        say(
            "\(r.folder.path): fingerprint \(r.info.fingerprint.prefix(16)) (\(r.shardsMade) shard(s) made, "
                + "\(r.shardsKept) kept)"
        )
        guard let s = r.info.summary else {
            say("other shards are still missing; the index and summary are written when the last one finishes")
            return
        }
        let pct = { (v: Double?) in v.map { String(format: "%.1f %%", 100 * $0) } ?? "n/a (labels differ)" }
        say("teacher accuracy: validation \(pct(s.validationAccuracy)), test \(pct(s.testAccuracy))")
        say(
            String(
                format:
                    "rollout localisation over %d keyword examples: %.1f %% of the mass inside the speech span "
                    + "(uniform: %.1f %%), peak inside it in %.1f %%",
                s.examplesWithKeyword, 100 * s.massInSpeech, 100 * s.spanShare, 100 * s.peakInSpeech))
        say(
            "train with: tkd train --dataset \(dataset) --config C --kd-target teacher:\(r.info.fingerprint.prefix(16))"
        )
    }
}

/// `tkd teacher train --dataset D --config C --out DIR`: the bundled teacher.
struct TeacherTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract:
            "Train the bundled compact wav2vec 2.0 teacher on a dataset's audio; writes a Hugging Face model folder.",
        discussion: """
            DIR receives config.json, model.safetensors (the best weights by validation accuracy) and \
            preprocessor_config.json — loadable by `tkd teacher cache --teacher DIR` and by transformers' \
            Wav2Vec2ForSequenceClassification — and DIR/training/ (config, resumable state, history, metrics). \
            Running the same command again resumes an interrupted run.
            """)

    @Option(help: "The dataset folder (tkd generate; 16-kHz audio of one length).")
    var dataset: String

    @Option(help: "Teacher config YAML (Recipes/teacher/*.yaml).")
    var config: String

    @Option(help: "Output model folder.")
    var out: String

    @Option(help: "Override steps (the schedule is spread over them).")
    var steps: Int?

    @Option(
        name: .customLong("stop-after"),
        help: "Train at most N steps in this invocation, save the resumable state and exit 0.")
    var stopAfter: Int?

    @OptionGroup var options: RunOptions

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be positive; got \(steps).") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be positive; got \(stopAfter).") }
    }

    func run() throws {
        var c = try TeacherTrainConfig.load(URL(fileURLWithPath: config))
        if let steps {
            c.steps = steps
            c.schedule = c.schedule.withSteps(steps)
        }
        let trainer = try TeacherTrainer(
            config: c, dataset: URL(fileURLWithPath: dataset), out: URL(fileURLWithPath: out))
        trainer.options = options.session(stopAfter: stopAfter)
        let outcome = try trainer.run()
        guard let v = outcome.validation, let t = outcome.test else {
            say(
                "teacher \(c.name): stopped at step \(outcome.stoppedAt ?? 0) of \(c.steps); run the same command "
                    + "again to resume"
            )
            return
        }
        say("teacher \(c.name): best step \(outcome.bestStep) of \(c.steps)")
        say(String(format: "validation accuracy %.2f %%, test accuracy %.2f %%", 100 * v.accuracy, 100 * t.accuracy))
        say("model folder: \(out)")
    }
}
