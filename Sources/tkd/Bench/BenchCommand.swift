import ArgumentParser
import Foundation

/// `tkd bench …`: in-process throughput measurements (see BENCHMARKS.md and Benchmarks/).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput (used by Benchmarks/*.sh beside the Python peers).",
        subcommands: [
            BenchFeaturesCommand.self, BenchTrainCommand.self, BenchTeacherCommand.self, BenchInferCommand.self,
        ])
}
