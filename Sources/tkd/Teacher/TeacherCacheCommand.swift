import ArgumentParser
import DatasetFormat
import Foundation
import TKDCore
import Teacher
import TensorStore

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
                + "rollout, optional logits; see Docs/cli.md, tkd teacher cache).")
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
                + "\(r.shardsKept) kept); rollout row: \(r.info.rolloutRow?.rawValue ?? "unrecorded")"
        )
        guard let s = r.info.summary else {
            say("other shards are still missing; the index and summary are written when the last one finishes")
            return
        }
        let multi = (try? DatasetInfo.load(URL(fileURLWithPath: dataset)).isMultiLabel) == true
        let pct = { (v: Double?) in v.map { String(format: "%.1f %%", 100 * $0) } ?? "n/a (labels differ)" }
        say(
            "teacher accuracy\(multi ? " (top class among the labels)" : ""): validation "
                + "\(pct(s.validationAccuracy)), test \(pct(s.testAccuracy))")
        say(
            String(
                format:
                    "rollout localisation over %d examples with a keyword or events: %.1f %% of the mass inside "
                    + "the span "
                    + "(uniform: %.1f %%), peak inside it in %.1f %%",
                s.examplesWithKeyword, 100 * s.massInSpeech, 100 * s.spanShare, 100 * s.peakInSpeech))
        say(
            "train with: tkd train --dataset \(dataset) --config C --kd-target teacher:\(r.info.fingerprint.prefix(16))"
        )
    }
}
