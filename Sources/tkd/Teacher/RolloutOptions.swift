import ArgumentParser
import DatasetFormat
import Foundation
import Teacher
import TensorStore

extension Rollout.Fusion: ExpressibleByArgument {}

extension Rollout.Query: ExpressibleByArgument {}

/// Rollout settings shared by the teacher commands.
struct RolloutOptions: ParsableArguments {
    @Option(help: "Head fusion per layer: mean, max or min.")
    var fusion: Rollout.Fusion = .mean

    @Option(help: "Residual weight w in (1 − w)·A + w·I.")
    var residual: Float = 0.5

    @Option(help: "Share of each row's smallest attentions set to zero before the residual (the diagonal is kept).")
    var discard: Float = 0

    @Option(
        help: """
            Query row: first, mean, or auto (the row the teacher's head reads: first for a first-frame head, \
            mean for a mean-pooling one; for --import, import.json's rollout_row, else mean).
            """)
    var query: Rollout.Query = .auto

    var rollout: Rollout { Rollout(fusion: fusion, residual: residual, discard: discard, query: query) }

    func validate() throws {
        guard residual >= 0 && residual <= 1 else {
            throw ValidationError("--residual must be in [0, 1]; got \(residual).")
        }
        guard discard >= 0 && discard < 1 else { throw ValidationError("--discard must be in [0, 1); got \(discard).") }
    }
}
