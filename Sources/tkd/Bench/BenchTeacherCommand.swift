import ArgumentParser
import Features
import Foundation
import Numerics
import TKDCore
import Teacher

/// `tkd bench teacher --teacher DIR [--seconds S] [--clips N] [--repeat R] [--jobs J]`
struct BenchTeacherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teacher",
        abstract:
            "wav2vec 2.0 forward throughput (logits and attentions) on N clips of S seconds, as a real-time factor.",
        discussion: """
            Mirrors Benchmarks/peers/teacher_peer.py: deterministic noise clips, one warm-up forward, then R timed \
            passes over the N clips as one batch (linear layers over the stacked frames, convolutions and attention \
            per \
            clip, on --jobs threads); the fastest pass is reported as one \
            JSON object with the real-time factor (processing seconds per audio second) and clips per second.
            """)

    @Option(help: "A Hugging Face wav2vec 2.0 model folder.")
    var teacher: String

    @Option(help: "Clip length in seconds.")
    var seconds: Double = 2

    @Option(help: "Clips per pass.")
    var clips: Int = 4

    @Option(name: .customLong("repeat"), help: "Timed passes; the fastest is reported.")
    var repetitions: Int = 3

    @Option(name: .shortAndLong, help: "Worker threads.")
    var jobs: Int = 1

    func run() throws {
        reuseLargeAllocations()
        let model = try Wav2Vec2Model(folder: URL(fileURLWithPath: teacher))
        var rng = CounterRNG(seed: 2, key: ["bench-teacher"])
        let n = Int(seconds * 16_000)
        let inputs = (0..<clips).map { _ in (0..<n).map { _ in Float(0.1 * rng.normal()) } }
        let pool = WorkPool(jobs: jobs)
        _ = try model.forward(inputs[0])
        var best = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<max(1, repetitions) {
            let (w0, c0) = (BenchFeaturesCommand.wallClock(), BenchFeaturesCommand.cpuClock())
            _ = try model.forward(batch: inputs, pool: pool)
            let (w1, c1) = (BenchFeaturesCommand.wallClock(), BenchFeaturesCommand.cpuClock())
            if w1 - w0 < best.wall { best = (w1 - w0, c1 - c0) }
        }
        let audio = Double(clips) * seconds
        let fields = [
            "\"tool\":\"tkd\"", "\"seconds\":\(seconds)", "\"clips\":\(clips)", "\"threads\":\(jobs)",
            String(format: "\"wall_seconds\":%.4f", best.wall), String(format: "\"cpu_seconds\":%.4f", best.cpu),
            String(format: "\"real_time_factor\":%.5f", best.wall / audio),
            String(format: "\"clips_per_second\":%.3f", Double(clips) / best.wall),
            "\"openblas_core\":\"\(BLAS.coreName)\"",
        ]
        say("{" + fields.joined(separator: ",") + "}")
    }
}
