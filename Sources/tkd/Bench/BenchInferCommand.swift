import ArgumentParser
import Deploy
import Foundation
import Layers
import Numerics
import TKDCore

/// `tkd bench infer --checkpoint CK [--repeat R] [--warmup W] [--batch B]`
struct BenchInferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Latency of tkd's own inference per window: audio → features → probabilities, one thread.",
        discussion: """
            Mirrors Benchmarks/peers/infer_peer.py (ONNX Runtime on the exported graph): the same probe windows \
            (noise with tones), W warm-up runs, then R timed runs of the whole window (front end and model) in \
            batches of B; prints one JSON object with the median and the 10th/90th percentiles in milliseconds \
            and the real-time factor (compute time per second of audio).
            """)

    @Option(help: "A student checkpoint (tkd train or tkd model init).")
    var checkpoint: String

    @Option(name: .customLong("repeat"), help: "Timed runs.")
    var runs: Int = 50

    @Option(help: "Warm-up runs (not timed).")
    var warmup: Int = 5

    @Option(help: "Windows per run.")
    var batch: Int = 1

    func validate() throws {
        guard runs >= 1, warmup >= 0, batch >= 1 else {
            throw ValidationError("--repeat and --batch must be positive and --warmup ≥ 0.")
        }
    }

    func run() throws {
        let ck = try DeployableCheckpoint(URL(fileURLWithPath: checkpoint))
        let windows = Array(Exporter.probeWindows(ck.facts).prefix(1))
        let batchWindows = (0..<batch).map { windows[$0 % windows.count] }
        var features: [Double] = [], total: [Double] = []
        for i in 0..<(warmup + runs) {
            let t0 = BenchFeaturesCommand.wallClock()
            let x = ck.features(batchWindows)
            let t1 = BenchFeaturesCommand.wallClock()
            _ = try ck.scores(x)
            let t2 = BenchFeaturesCommand.wallClock()
            if i >= warmup {
                features.append((t1 - t0) * 1000 / Double(batch))
                total.append((t2 - t0) * 1000 / Double(batch))
            }
        }
        func pct(_ v: [Double], _ p: Double) -> Double {
            let s = v.sorted()
            return s[min(s.count - 1, Int(p * Double(s.count - 1) + 0.5))]
        }
        let median = pct(total, 0.5)
        let fields = [
            "\"tool\":\"tkd\"", "\"model\":\"\(ck.student.rawValue)\"",
            String(format: "\"window_seconds\":%.3f", ck.facts.windowSeconds), "\"batch\":\(batch)",
            "\"repeat\":\(runs)", String(format: "\"ms_per_window\":%.4f", median),
            String(format: "\"ms_p10\":%.4f", pct(total, 0.1)), String(format: "\"ms_p90\":%.4f", pct(total, 0.9)),
            String(format: "\"features_ms\":%.4f", pct(features, 0.5)),
            String(format: "\"real_time_factor\":%.6f", median / 1000 / ck.facts.windowSeconds),
            "\"openblas_core\":\"\(BLAS.coreName)\"",
        ]
        say("{" + fields.joined(separator: ",") + "}")
    }
}
