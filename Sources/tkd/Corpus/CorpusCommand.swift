import ArgumentParser

/// `tkd corpus …`: Speech Commands corpora.
struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract:
            "Speech Commands corpora: build the espeak-ng demo corpus, index a corpus, apply the official split rule.",
        subcommands: [CorpusDemoCommand.self, CorpusIndexCommand.self, CorpusWhichSetCommand.self])
}
