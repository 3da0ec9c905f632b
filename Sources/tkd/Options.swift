import ArgumentParser
import Foundation
import Numerics
import TKDCore
import TrainingLoop

/// `--jobs` and progress output, shared by every long command.
struct RunOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Worker threads (0 = one per core).")
    var jobs: Int = 1

    @Option(help: "Progress output: auto (a bar on a terminal, nothing otherwise), terminal, json, quiet.")
    var progress: ProgressMode = .auto

    @Flag(name: .shortAndLong, help: "No progress output (same as --progress quiet).")
    var quiet = false

    var progressMode: ProgressMode { quiet ? .quiet : progress }

    func validate() throws {
        guard jobs >= 0 else { throw ValidationError("--jobs must be 0 (one per core) or positive; got \(jobs).") }
    }
}

extension RunOptions {
    /// The training loop's options for this command line (and a note when OpenBLAS runs slow kernels).
    func session(stopAfter: Int?) -> SessionOptions {
        var session = SessionOptions()
        session.jobs = jobs
        session.progress = progressMode
        session.stopAfter = stopAfter
        if let note = BLAS.slowKernelNote { session.log(note) }
        return session
    }
}

extension ProgressMode: ExpressibleByArgument {}

/// Writes a line to standard output.
func say(_ text: String) {
    print(text)
}
