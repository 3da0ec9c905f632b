import ArgumentParser
import DatasetFormat
import Foundation
import Numerics
import Synthesis
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

/// When a training invocation stops early, saving its resumable state (for time-limited jobs; a rerun of
/// the same command resumes, and the finished run is byte-identical to an uninterrupted one).
struct StopOptions: ParsableArguments {
    @Option(
        name: .customLong("stop-after"),
        help:
            "Train at most N steps in this invocation, save a resumable checkpoint and exit 0 (for time-limited jobs).")
    var steps: Int?

    @Option(
        name: .customLong("stop-after-minutes"),
        help: """
            Stop at the first step boundary after M minutes of training in this invocation, save a resumable \
            checkpoint and exit 0 (set it below a batch job's time limit; the results do not depend on it).
            """)
    var minutes: Double?

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--stop-after must be positive; got \(steps).") }
        if let minutes, !(minutes > 0 && minutes.isFinite) {
            throw ValidationError("--stop-after-minutes must be positive; got \(minutes).")
        }
    }
}

extension RunOptions {
    /// The training loop's options for this command line (and a note when OpenBLAS runs slow kernels).
    func session(stop: StopOptions) -> SessionOptions {
        var session = SessionOptions()
        session.jobs = jobs
        session.progress = progressMode
        session.stopAfter = stop.steps
        session.stopAfterSeconds = stop.minutes.map { $0 * 60 }
        if let note = BLAS.slowKernelNote { session.log(note) }
        return session
    }
}

extension ProgressMode: ExpressibleByArgument {}

/// Writes a line to standard output.
func say(_ text: String) {
    print(text)
}

/// Where a dataset's noise sources may be read from, by `render` and `verify` alike: `--noise-base` (default:
/// the `--recipe`'s folder, else the current folder) for relative sources, and the absolute noise folders of
/// `--recipe`, the only absolute sources read — a `dataset.json` never names them on its own.
/// `--recipe` and `--noise-base`: where the noise sources of a dataset's records are read from (render, verify).
struct NoiseSourceOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The recipe the dataset was generated from: its absolute noise folders are the only absolute noise "
                + "sources read, and its folder is the default --noise-base."))
    var recipe: String?

    @Option(
        help: ArgumentHelp(
            "Folder that relative noise sources outside the corpus resolve against (default: the --recipe's "
                + "folder, else the current folder)."))
    var noiseBase: String?

    func roots() throws -> NoiseRoots { try NoiseRoots(recipe: recipe, noiseBase: noiseBase) }
}

struct NoiseRoots {
    var base: URL
    var recipeFolders: [URL] = []

    init(recipe: String?, noiseBase: String?) throws {
        let recipeURL = recipe.map { URL(fileURLWithPath: $0) }
        if let recipeURL { recipeFolders = NoiseSourceResolver.absoluteFolders(of: try Recipe.load(recipeURL)) }
        base = URL(fileURLWithPath: noiseBase ?? recipeURL?.deletingLastPathComponent().path ?? ".")
    }
}
