import ArgumentParser
import Foundation

/// `tkd teacher …`: the wav2vec 2.0 teacher.
struct TeacherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teacher",
        abstract:
            "The wav2vec 2.0 teacher: train the bundled one, per-layer attentions and rollout, the attention cache.",
        subcommands: [TeacherTrainCommand.self, TeacherAttentionsCommand.self, TeacherCacheCommand.self])
}
