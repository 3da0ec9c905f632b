import Foundation
import TKDCore

/// A synthetic room for the demo corpus: the direct sound plus a diffuse tail of Gaussian noise decaying
/// by 60 dB over RT60 (Sabine's exponential model), at a direct-to-reverberant ratio drawn in [0, 8] dB.
enum Room {
    /// `x` convolved with a fresh impulse response (RT60 in seconds; the tail is cut at 40 dB of decay, so
    /// it lasts 2/3·RT60); the output is longer than `x` by the tail.
    static func reverberate(_ x: [Float], sampleRate: Int, rt60: Double, rng: inout CounterRNG) -> [Float] {
        let length = max(1, Int(rt60 * 2 / 3 * Double(sampleRate)))
        // Amplitude decays by 60 dB (×1e-3) over rt60 seconds.
        let decay = log(1e-3) / (rt60 * Double(sampleRate))
        var tail = (0..<length).map { n in Float(rng.normal() * exp(decay * Double(n + 1))) }
        let drrDB = rng.uniform(0, 8)
        let energy = tail.reduce(0.0) { $0 + Double($1 * $1) }
        let scale = Float(energy > 0 ? (pow(10, -drrDB / 10) / energy).squareRoot() : 0)
        for i in tail.indices { tail[i] *= scale }
        var y = x + [Float](repeating: 0, count: length)
        // y[n] += Σ_k tail[k] x[n - 1 - k]; the impulse response is [1, tail…].
        tail.withUnsafeBufferPointer { h in
            x.withUnsafeBufferPointer { xs in
                y.withUnsafeMutableBufferPointer { ys in
                    for (i, v) in xs.enumerated() where v != 0 {
                        let out = ys.baseAddress! + i + 1
                        for k in 0..<h.count { out[k] += v * h[k] }
                    }
                }
            }
        }
        return y
    }
}
