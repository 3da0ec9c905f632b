import ArgumentParser
import DatasetFormat
import Foundation
import Synthesis
import TKDCore

/// `tkd generate --recipe R --corpus C --out DIR [--variant V] [--jobs N] [--shard I/N] [--plan-only]`
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract:
            "Generate a dataset from a recipe: Noisy Speech Commands (keywords placed in variable-length noise, "
            + "positions recorded) or, from a clip recipe (kind: fsd50k), FSD50K clips resampled and cut.",
        discussion: """
            Writes DIR/dataset.json, DIR/manifests/<split>.jsonl and DIR/audio/<split>/<id>.wav — one such \
            folder per \
            variant (DIR/<variant>/) when the recipe has several and --variant does not pick one. Deterministic \
            (same recipe, corpus and seed give the same bytes whatever --jobs or --shard), resumable (re-run the same \
            command after an interruption) and shardable: with --shard I/N (or a Slurm job array) each task makes \
            every \
            N-th example and the last to finish writes the merged manifests.

            A clip recipe (`kind: fsd50k`, Recipes/fsd50k.yaml) takes an FSD50K corpus folder: each clip is \
            resampled to output.sample_rate (libsamplerate, output.resample_quality) and cut by the variant's clip \
            handling (crop_pad, patches or full) into a multi-label dataset of the same layout.
            """)

    @Option(help: "The recipe (YAML; see Recipes/README.md).")
    var recipe: String

    @Option(help: "The corpus folder: Speech Commands, or FSD50K for a clip recipe.")
    var corpus: String

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Make only this variant (then --out is the dataset folder itself).")
    var variant: String?

    @Option(
        help: "Make part I of N (0-based), e.g. 0/4. Defaults to SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT when set.")
    var shard: String?

    @Flag(help: "Write the manifests (with the SHA-256 the audio will have) but no audio; `tkd render` makes it later.")
    var planOnly = false

    @OptionGroup var runOptions: RunOptions

    func run() throws {
        let recipeURL = URL(fileURLWithPath: recipe)
        let corpusURL = URL(fileURLWithPath: corpus)
        let shardSpec = try Shard.resolve(shard)  // before the corpus scan: a bad --shard fails at once
        if try StreamRecipe.isStreamRecipe(recipeURL) {
            let r = try StreamRecipe.load(recipeURL)
            if variant != nil {
                throw GenerateError.unsupported(what: "--variant", reason: "a stream recipe has no variants")
            }
            let index = try StreamDatasetGenerator.scanCorpus(corpusURL, recipe: r, jobs: runOptions.jobs)
            try forEachVariant([("streams", r)], shard: shardSpec, unit: "streams ") { r, dir, options in
                try StreamDatasetGenerator(
                    recipe: r, corpusRoot: corpusURL, recipeDirectory: recipeURL.deletingLastPathComponent(),
                    dataset: dir, options: options
                ).run(index: index)
            }
            return
        }
        if try ClipRecipe.kind(of: recipeURL) != nil {
            let r = try ClipRecipe.load(recipeURL)
            _ = try selected(r.variants.map { ($0.name, $0) })  // before the corpus scan, like --shard
            let index = try ClipDatasetGenerator.scanCorpus(corpusURL, recipe: r, jobs: runOptions.jobs)
            try forEachVariant(r.variants.map { ($0.name, $0) }, shard: shardSpec, unit: "clips ") { v, dir, options in
                try ClipDatasetGenerator(recipe: r, variant: v, corpusRoot: corpusURL, dataset: dir, options: options)
                    .run(index: index)
            }
            return
        }
        let r = try Recipe.load(recipeURL)
        _ = try selected(r.variants.map { ($0.name, $0) })
        let index = try DatasetGenerator.scanCorpus(corpusURL, recipe: r, jobs: runOptions.jobs)
        let hasher = SourceHasher()
        try forEachVariant(r.variants.map { ($0.name, $0) }, shard: shardSpec, unit: "") { v, dir, options in
            try DatasetGenerator(
                recipe: r, variant: v, corpusRoot: corpusURL, recipeDirectory: recipeURL.deletingLastPathComponent(),
                dataset: dir, options: options
            ).run(index: index, hasher: hasher)
        }
    }

    /// The recipe's variants, or the one `--variant` names.
    /// - Throws: `GenerateError.unknownVariant` listing the recipe's variants.
    func selected<Variant>(_ all: [(name: String, variant: Variant)]) throws -> [(name: String, variant: Variant)] {
        guard let variant else { return all }
        guard let v = all.first(where: { $0.name == variant }) else {
            throw GenerateError.unknownVariant(name: variant, available: all.map(\.name))
        }
        return [v]
    }

    /// Makes each variant of a recipe (or `--variant`'s) into its folder — `--out` itself when there is one
    /// variant, else `--out/<variant>/` — and prints what each run did.
    func forEachVariant<Variant>(
        _ all: [(name: String, variant: Variant)], shard shardSpec: Shard, unit: String,
        make: (Variant, URL, GenerateOptions) throws -> GenerateSummary
    ) throws {
        let variants = try selected(all)
        let outURL = URL(fileURLWithPath: out)
        for v in variants {
            let dir =
                variants.count == 1 && (variant != nil || all.count == 1)
                ? outURL : outURL.appendingPathComponent(v.name)
            var options = GenerateOptions()
            options.jobs = runOptions.jobs
            options.shard = shardSpec
            options.planOnly = planOnly
            options.progress = runOptions.progressMode
            let summary = try make(v.variant, dir, options)
            var line = "\(dir.path): shard \(shardSpec): \(summary.made) \(unit)made, \(summary.reused) already done"
            if summary.skipped > 0 { line += ", \(summary.skipped) skipped (see dataset.json)" }
            say(line)
            if let info = summary.info, info.isStream {
                say(DatasetTable.renderStreams(info))
            } else if let info = summary.info {
                say(DatasetTable.render(info))
            } else {
                say("  waiting for the other shards; the last one to finish writes the manifests and dataset.json")
            }
        }
    }
}

/// Counts per split and class, as printed after generation.
enum DatasetTable {
    /// A stream dataset: per split, streams, hours, negative hours, target and distractor events, looped noise.
    static func renderStreams(_ info: DatasetInfo) -> String {
        let splits = Split.allCases.map(\.rawValue).filter { (info.streams?[$0]?.streams ?? 0) > 0 }
        var rows: [[String]] = [[""] + splits]
        func row(_ title: String, _ text: (StreamSplitSummary) -> String) -> [String] {
            [title] + splits.map { info.streams?[$0].map(text) ?? "–" }
        }
        rows.append(row("streams") { String($0.streams) })
        rows.append(row("hours") { String(format: "%.3f", $0.seconds / 3600) })
        rows.append(row("negative hours") { String(format: "%.3f", $0.negativeSeconds / 3600) })
        rows.append(row("target events") { String($0.targets) })
        rows.append(row("distractors") { String($0.distractors) })
        rows.append(row("looped noise (s)") { String(format: "%.1f", $0.repeatedNoiseSeconds) })
        for label in info.labels where splits.contains(where: { (info.counts[$0]?[label] ?? 0) > 0 }) {
            rows.append(["  \(label)"] + splits.map { String(info.counts[$0]?[label] ?? 0) })
        }
        return
            "\(info.name): stream dataset, \(info.labels.count) labels, corpus fingerprint "
            + "\(info.corpus.fingerprint.prefix(12))\n" + CorpusIndexTable.table(rows)
    }

    static func render(_ info: DatasetInfo) -> String {
        let splits = Split.allCases.map(\.rawValue)
        var rows: [[String]] = [["label"] + splits + ["total"]]
        for label in info.labels {
            let c = splits.map { info.counts[$0]?[label] ?? 0 }
            rows.append([label] + c.map(String.init) + [String(c.reduce(0, +))])
        }
        let t = splits.map { info.totals[$0] ?? 0 }
        rows.append(["(all)"] + t.map(String.init) + [String(t.reduce(0, +))])
        if let usage = info.noiseUsage {
            func row(_ title: String, _ text: (NoiseUsage) -> String) -> [String] {
                [title] + splits.map { usage[$0].map(text) ?? "–" } + [""]
            }
            rows.append(row("noise (s)") { String(format: "%.1f", $0.distinctSeconds) })
            rows.append(row("looped") { String(format: "%.1f %%", 100 * $0.loopedShare) })
            rows.append(row("max share") { String($0.maxExamplesPerSample) })
        }
        let multi =
            info.isMultiLabel ? " (multi-label: an example is counted under each of its labels)" : ""
        return
            "\(info.name)/\(info.variantName): \(info.labels.count) classes\(multi), "
            + "\(info.audioRendered ? "audio rendered" : "plan only (no audio yet)"), corpus fingerprint "
            + "\(info.corpus.fingerprint.prefix(12))\n"
            + CorpusIndexTable.table(rows)
    }
}
