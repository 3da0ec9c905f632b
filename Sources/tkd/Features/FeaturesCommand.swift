import ArgumentParser
import DatasetFormat
import Features
import Foundation
import TKDCore
import TensorStore

extension FrontEndPreset: ExpressibleByArgument {}
extension TensorDType: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "float32", "F32": self = .float32
        case "float16", "F16": self = .float16
        default: return nil
        }
    }
    public static var allValueStrings: [String] { ["float32", "float16"] }
}

/// `tkd features …`: spectral features of a dataset (the store) or of single files.
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract:
            "Compute log-mel, MFCC or Kaldi fbank features: a sharded store for a dataset, or .npy files for single "
            + "inputs.",
        discussion:
            "Presets: \(FrontEndPreset.allCases.map(\.rawValue).joined(separator: ", ")) (see Docs/cli.md, "
            + "\"Presets\").",
        subcommands: [FeaturesStoreCommand.self, FeaturesExtractCommand.self],
        defaultSubcommand: FeaturesStoreCommand.self)
}

/// `tkd features [store] --dataset D --preset P [--dtype float32|float16] [--jobs N] [--shard I/N]`
struct FeaturesStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract:
            "Write DATASET/features/<preset>/: safetensors shards, index.json, config.json (the default subcommand).",
        discussion: """
            One tensor per example (frames × features), named by the example id, in shards of at most ~200 MB. \
            Deterministic whatever --jobs or --shard; re-run after an interruption to resume (finished shards are \
            checked by SHA-256 and kept). Python: safetensors.numpy.load_file("shard-00000.safetensors")["<id>"].
            """)

    @Option(help: "The dataset folder (made by tkd generate, with audio).")
    var dataset: String

    @Option(help: "Front-end preset.")
    var preset: FrontEndPreset

    @Option(help: "Stored element type: float32 or float16.")
    var dtype: TensorDType = .float32

    @Option(help: "Make part I of N (0-based) of the store's shards. Defaults to the Slurm array variables when set.")
    var shard: String?

    @OptionGroup var runOptions: RunOptions

    func run() throws {
        var b = FeatureStoreBuilder(dataset: URL(fileURLWithPath: dataset), preset: preset)
        b.dtype = dtype
        b.jobs = runOptions.jobs
        b.shard = try Shard.resolve(shard)
        b.progress = runOptions.progressMode
        let s = try b.run()
        if let index = s.index {
            say(
                "\(b.folder.path): \(index.entries.count) examples in \(index.shards.count) shard(s) "
                    + "(\(s.shardsMade) made, \(s.shardsKept) kept)"
            )
        } else {
            say(
                "\(b.folder.path): shard \(b.shard): \(s.shardsMade) made, \(s.shardsKept) kept; the last part to "
                    + "finish writes index.json"
            )
        }
    }
}

/// `tkd features extract --preset P FILE... --out DIR`
struct FeaturesExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Write one <input stem>.npy per input file (frames × features, float32, little-endian).")

    @Option(help: "Front-end preset.")
    var preset: FrontEndPreset

    @Argument(help: "Audio files (anything libsndfile reads).")
    var files: [String]

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "The preset's sample rate (window and hop keep their milliseconds at other rates).")
    var sampleRate: Int = 16000

    @Flag(help: "Resample inputs at another rate (libsamplerate, best sinc) instead of refusing them.")
    var resample = false

    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one audio FILE.") }
        let stems = files.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        if let dup = Dictionary(grouping: stems, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw ValidationError("two inputs share the stem '\(dup)'; their .npy files would collide in --out.")
        }
    }

    func run() throws {
        let frontEnd = try FrontEnd(preset.config(sampleRate: sampleRate))
        let outURL = URL(fileURLWithPath: out)
        let inputs = files
        let resample = self.resample
        let reporter = ProgressReporter(label: "files", total: inputs.count, mode: runOptions.progressMode)
        try WorkPool(jobs: runOptions.jobs).forEach(inputs.count) { i in
            defer { reporter.advance() }
            let url = URL(fileURLWithPath: inputs[i])
            let values = try FeatureFile.extract(url, frontEnd: frontEnd, resample: resample)
            let n = frontEnd.config.featureCount
            try NPY.write(
                values, shape: [values.count / n, n],
                to: outURL.appendingPathComponent(url.deletingPathExtension().lastPathComponent + ".npy"))
        }
        reporter.finish()
        say(
            "wrote \(inputs.count) file(s) to \(out) (\(preset.rawValue), \(frontEnd.config.featureCount) features "
                + "per frame)"
        )
    }
}
