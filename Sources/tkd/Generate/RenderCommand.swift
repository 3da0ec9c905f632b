import ArgumentParser
import Foundation
import Synthesis
import TKDCore

/// `tkd render --dataset D --corpus C [--recipe R] [--noise-base B]`
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract:
            "Render a dataset's audio from its manifests and the corpus (after generate --plan-only, or to rebuild "
            + "audio).",
        discussion: """
            Checks every source's SHA-256 against the manifest first and refuses, naming the file, when one changed. \
            Each rendered file must match its recorded audio_sha256 byte for byte. Files already present with the \
            right \
            hash are kept.
            """)

    @Option(help: "The dataset folder (holding dataset.json and manifests/).")
    var dataset: String

    @Option(help: "The Speech Commands corpus the dataset was generated from.")
    var corpus: String

    @OptionGroup var noiseSources: NoiseSourceOptions

    @Option(help: "Render part I of N (0-based), e.g. 0/4. Defaults to the Slurm array variables when set.")
    var shard: String?

    @OptionGroup var runOptions: RunOptions

    func run() throws {
        let noise = try noiseSources.roots()
        var renderer = DatasetRenderer(
            dataset: URL(fileURLWithPath: dataset), corpusRoot: URL(fileURLWithPath: corpus),
            noiseBase: noise.base)
        renderer.recipeFolders = noise.recipeFolders
        renderer.jobs = runOptions.jobs
        renderer.shard = try Shard.resolve(shard)
        renderer.progress = runOptions.progressMode
        let s = try renderer.run()
        say("\(dataset): \(s.rendered) rendered, \(s.alreadyPresent) already present and verified")
    }
}
