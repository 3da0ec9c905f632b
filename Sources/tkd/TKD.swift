import ArgumentParser
import TKDCore

@main
struct TKD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tkd",
        abstract: "TemporalKD: Noisy Speech Commands generation and temporal knowledge distillation for keyword spotting.",
        discussion: """
        Stages talk through files: corpus → recipe → dataset (manifests + audio) → features → teacher cache → students.
        Every command exits non-zero with a one-line reason on bad input.
        """,
        version: TKDVersion.current,
        subcommands: [CorpusCommand.self, GenerateCommand.self, RenderCommand.self, FeaturesCommand.self, ModelCommand.self, TrainCommand.self, EvaluateCommand.self, BenchCommand.self, VersionCommand.self]
    )
}
