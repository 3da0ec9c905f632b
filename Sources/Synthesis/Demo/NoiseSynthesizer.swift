import Foundation
import TKDCore

/// Deterministic synthetic background noises for the demo corpus's `_background_noise_/`.
///
/// Three stationary colours (white, pink, brown) and three non-stationary ones (amplitude-modulated
/// pink noise, bursts of band-passed noise, mains hum with drifting harmonics). Every sample comes
/// from a `CounterRNG` keyed by the seed and the noise's name.
public enum NoiseKind: String, Sendable, CaseIterable, Codable {
    case white, pink, brown, modulated, bursty, hum

    /// File name inside `_background_noise_/`.
    public var fileName: String { "\(rawValue)_noise.wav" }

    /// Length in seconds: a little over a minute, different per file (as in the real corpus).
    public var durationSeconds: Double {
        switch self {
        case .white: return 61
        case .pink: return 62
        case .brown: return 63
        case .modulated: return 64
        case .bursty: return 65
        case .hum: return 66
        }
    }

    /// Target RMS in dBFS.
    var rmsDB: Double {
        switch self {
        case .white, .pink, .brown: return -20
        case .modulated: return -22
        case .bursty: return -24
        case .hum: return -26
        }
    }
}

public enum NoiseSynthesizer {
    /// `kind` at `sampleRate`, normalised to its target RMS, peak kept below full scale.
    public static func make(_ kind: NoiseKind, sampleRate: Int, seed: UInt64) -> [Float] {
        let n = Int(kind.durationSeconds * Double(sampleRate))
        var rng = CounterRNG(seed: seed, key: ["demo-corpus", "noise", kind.rawValue])
        var x: [Double]
        switch kind {
        case .white:
            x = (0..<n).map { _ in rng.normal() }
        case .pink:
            x = pink(n, &rng)
        case .brown:
            x = brown(n, &rng)
        case .modulated:
            x = pink(n, &rng)
            // Slowly wandering modulation frequency (0.3-2 Hz) and depth.
            var phase = 0.0
            var freq = 0.8
            for i in 0..<n {
                if i % sampleRate == 0 { freq = rng.uniform(0.3, 2.0) }
                phase += 2 * Double.pi * freq / Double(sampleRate)
                x[i] *= 0.55 + 0.45 * sin(phase)
            }
        case .bursty:
            x = bursts(n, sampleRate: sampleRate, &rng)
        case .hum:
            x = hum(n, sampleRate: sampleRate, &rng)
        }
        return normalise(x, rmsDB: kind.rmsDB)
    }

    /// Paul Kellet's refined pink-noise filter (−3 dB/octave within 0.05 dB above 9 Hz at 44.1 kHz).
    static func pink(_ n: Int, _ rng: inout CounterRNG) -> [Double] {
        var b0 = 0.0, b1 = 0.0, b2 = 0.0, b3 = 0.0, b4 = 0.0, b5 = 0.0, b6 = 0.0
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let w = rng.normal()
            b0 = 0.99886 * b0 + w * 0.0555179
            b1 = 0.99332 * b1 + w * 0.0750759
            b2 = 0.96900 * b2 + w * 0.1538520
            b3 = 0.86650 * b3 + w * 0.3104856
            b4 = 0.55000 * b4 + w * 0.5329522
            b5 = -0.7616 * b5 - w * 0.0168980
            out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362
            b6 = w * 0.115926
        }
        return out
    }

    /// Brown (red) noise: leaky integration of white noise, then a DC blocker.
    static func brown(_ n: Int, _ rng: inout CounterRNG) -> [Double] {
        var out = [Double](repeating: 0, count: n)
        var acc = 0.0, prevIn = 0.0, prevOut = 0.0
        for i in 0..<n {
            acc = 0.998 * acc + rng.normal()
            let y = acc - prevIn + 0.9995 * prevOut
            prevIn = acc
            prevOut = y
            out[i] = y
        }
        return out
    }

    /// Clatter-like bursts: Poisson onsets (1.5 per second) of band-passed noise, 50-400 ms long with
    /// a fast attack and exponential decay, over a faint floor.
    static func bursts(_ n: Int, sampleRate: Int, _ rng: inout CounterRNG) -> [Double] {
        var out = (0..<n).map { _ in 0.02 * rng.normal() }
        var t = 0.0
        let sr = Double(sampleRate)
        while true {
            t += -log(max(rng.uniform(), 1e-12)) / 1.5
            let start = Int(t * sr)
            if start >= n { break }
            let length = Int(rng.uniform(0.05, 0.4) * sr)
            let centre = rng.uniform(300, 0.4 * sr)
            let amplitude = rng.uniform(0.3, 1.5)
            // Two-pole resonator at `centre` Hz.
            let r = 0.97, theta = 2 * Double.pi * centre / sr
            let a1 = 2 * r * cos(theta), a2 = -r * r
            var y1 = 0.0, y2 = 0.0
            let attack = max(1, Int(0.005 * sr))
            for k in 0..<length where start + k < n {
                let y = rng.normal() + a1 * y1 + a2 * y2
                y2 = y1
                y1 = y
                let env = (k < attack ? Double(k) / Double(attack) : 1) * exp(-4 * Double(k) / Double(length))
                out[start + k] += amplitude * env * y * (1 - r)
            }
        }
        return out
    }

    /// Mains hum: 50 Hz and harmonics up to 1 kHz (amplitude 1/k), each with a slow random drift in
    /// level, a slowly wobbling fundamental (±0.3 Hz), plus faint white noise.
    static func hum(_ n: Int, sampleRate: Int, _ rng: inout CounterRNG) -> [Double] {
        let sr = Double(sampleRate)
        let harmonics = 20
        var phases = (0..<harmonics).map { _ in rng.uniform(0, 2 * Double.pi) }
        var levels = (1...harmonics).map { 1.0 / Double($0) }
        var targets = levels
        var out = [Double](repeating: 0, count: n)
        var wobble = 0.0
        for i in 0..<n {
            if i % (sampleRate / 4) == 0 {
                targets = (1...harmonics).map { rng.uniform(0.4, 1.2) / Double($0) }
                wobble = rng.uniform(-0.3, 0.3)
            }
            let f0 = 50 + wobble
            var s = 0.0
            for h in 0..<harmonics {
                levels[h] += (targets[h] - levels[h]) * 2e-4
                phases[h] += 2 * Double.pi * f0 * Double(h + 1) / sr
                if phases[h] > 2 * Double.pi { phases[h] -= 2 * Double.pi }
                s += levels[h] * sin(phases[h])
            }
            out[i] = s + 0.05 * rng.normal()
        }
        return out
    }

    /// Scales to `rmsDB` dBFS RMS, then down further if the peak would exceed 0.95.
    static func normalise(_ x: [Double], rmsDB: Double) -> [Float] {
        let rms = (x.reduce(0) { $0 + $1 * $1 } / Double(max(x.count, 1))).squareRoot()
        guard rms > 0 else { return x.map { Float($0) } }
        var gain = pow(10, rmsDB / 20) / rms
        let peak = x.reduce(0) { max($0, abs($1)) } * gain
        if peak > 0.95 { gain *= 0.95 / peak }
        return x.map { Float($0 * gain) }
    }
}
