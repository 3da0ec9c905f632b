import ArgumentParser
import DatasetFormat
import Features
import Foundation
import TKDCore

/// `tkd bench features --preset P [--clips N] [--long-seconds S] [--jobs J]`
struct BenchFeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Front-end throughput on N one-second clips and on one long clip, in audio-seconds per CPU-second.",
        discussion: """
            The signals are deterministic noise (content does not change the work). Prints one JSON object per \
            workload: audio seconds, wall and CPU seconds (process CPU time), audio-s per CPU-second and per \
            wall-second.
            """)

    @Option(help: "Front-end preset.")
    var preset: FrontEndPreset = .torchaudioMelspec

    @Option(help: "Number of one-second clips.")
    var clips: Int = 1000

    @Option(help: "Length of the long clip in seconds.")
    var longSeconds: Int = 60

    @Option(name: .customLong("repeat"), help: "Repetitions; the fastest is reported.")
    var repetitions: Int = 3

    @Option(name: .shortAndLong, help: "Worker threads.")
    var jobs: Int = 1

    func run() throws {
        let frontEnd = try FrontEnd(preset.config())
        let rate = frontEnd.config.sampleRate
        var rng = CounterRNG(seed: 1, key: ["bench-features"])
        let short = (0..<clips).map { _ in (0..<rate).map { _ in Float(0.1 * rng.normal()) } }
        let long = [(0..<(rate * longSeconds)).map { _ in Float(0.1 * rng.normal()) }]
        for (name, inputs) in [("clips-1s", short), ("clip-\(longSeconds)s", long)] {
            var best: (wall: Double, cpu: Double) = (.infinity, .infinity)
            for _ in 0..<max(1, repetitions) {
                let (w0, c0) = (Self.wallClock(), Self.cpuClock())
                try WorkPool(jobs: jobs).forEach(inputs.count) { i in _ = frontEnd.features(inputs[i]) }
                let (w1, c1) = (Self.wallClock(), Self.cpuClock())
                if w1 - w0 < best.wall { best = (w1 - w0, c1 - c0) }
            }
            let audio = Double(inputs.reduce(0) { $0 + $1.count }) / Double(rate)
            let fields = [
                "\"tool\":\"tkd\"", "\"preset\":\"\(preset.rawValue)\"", "\"workload\":\"\(name)\"", "\"jobs\":\(jobs)",
                "\"audio_seconds\":\(audio)", String(format: "\"wall_seconds\":%.4f", best.wall),
                String(format: "\"cpu_seconds\":%.4f", best.cpu),
                String(format: "\"audio_s_per_cpu_s\":%.0f", audio / best.cpu),
                String(format: "\"audio_s_per_wall_s\":%.0f", audio / best.wall),
            ]
            say("{" + fields.joined(separator: ",") + "}")
        }
    }

    static func wallClock() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func cpuClock() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
