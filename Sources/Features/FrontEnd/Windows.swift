import DatasetFormat
import Foundation

extension FrontEndConfig.Window {
    /// The window's samples (Double), length `length`.
    ///
    /// hann-periodic 0.5 − 0.5·cos(2πn/N) (torch.hann_window, scipy `fftbins=True`); hann-symmetric
    /// uses N−1; hamming 0.54 − 0.46·cos(…) likewise; povey (0.5 − 0.5·cos(2πn/(N−1)))^0.85 (Kaldi).
    public func samples() -> [Double] {
        let n = length
        func cosine(_ a: Double, _ b: Double, periodic: Bool) -> [Double] {
            let d = Double(periodic ? n : max(n - 1, 1))
            return (0..<n).map { a - b * cos(2 * Double.pi * Double($0) / d) }
        }
        switch kind {
        case .hannPeriodic: return cosine(0.5, 0.5, periodic: true)
        case .hannSymmetric: return cosine(0.5, 0.5, periodic: false)
        case .hammingPeriodic: return cosine(0.54, 0.46, periodic: true)
        case .hammingSymmetric: return cosine(0.54, 0.46, periodic: false)
        case .povey: return cosine(0.5, 0.5, periodic: false).map { pow($0, 0.85) }
        case .rectangular: return [Double](repeating: 1, count: n)
        }
    }
}

extension FrontEndConfig.MelScale {
    public func mel(_ hz: Double) -> Double {
        switch self {
        case .htk: return 2595 * log10(1 + hz / 700)
        case .slaney:
            let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp, logStep = log(6.4) / 27
            return hz >= minLogHz ? minLogMel + log(hz / minLogHz) / logStep : hz / fSp
        }
    }

    public func hz(_ mel: Double) -> Double {
        switch self {
        case .htk: return 700 * (pow(10, mel / 2595) - 1)
        case .slaney:
            let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp, logStep = log(6.4) / 27
            return mel >= minLogMel ? minLogHz * exp(logStep * (mel - minLogMel)) : fSp * mel
        }
    }
}

/// A mel filterbank stored sparsely: per band, the first bin and the weights of its non-zero run.
public struct MelFilterbank: Sendable, Equatable {
    public let bands: Int
    public let bins: Int
    public let starts: [Int]
    public let weights: [[Float]]

    /// Based on: torchaudio `melscale_fbanks` and librosa `filters.mel` (domain `hz`); Kaldi
    /// `MelBanks` and kws_streaming `mel_table` (domain `mel`). Computed in Double.
    public init(_ c: FrontEndConfig.MelConfig, sampleRate: Int, fftLength: Int) {
        let bins = fftLength / 2 + 1
        let scale = c.scale
        let lo = scale.mel(c.fMin), hi = scale.mel(c.fMax)
        let corners = (0..<(c.bands + 2)).map { lo + (hi - lo) * Double($0) / Double(c.bands + 1) }
        let binHz = (0..<bins).map { Double($0) * Double(sampleRate) / Double(fftLength) }
        var dense = [[Double]](repeating: [Double](repeating: 0, count: bins), count: c.bands)
        for b in 0..<c.bands {
            for k in 0..<bins {
                if c.dropNyquist && k == bins - 1 { continue }
                if c.zeroDC && k == 0 { continue }
                let w: Double
                switch c.domain {
                case .hz:
                    let f = corners.map(scale.hz)
                    let down = (binHz[k] - f[b]) / (f[b + 1] - f[b])
                    let up = (f[b + 2] - binHz[k]) / (f[b + 2] - f[b + 1])
                    w = max(0, min(down, up))
                case .mel:
                    let m = scale.mel(binHz[k])
                    let down = (m - corners[b]) / (corners[b + 1] - corners[b])
                    let up = (corners[b + 2] - m) / (corners[b + 2] - corners[b + 1])
                    w = max(0, min(down, up))
                }
                dense[b][k] = w
            }
            if c.slaneyNorm {
                let enorm = 2 / (scale.hz(corners[b + 2]) - scale.hz(corners[b]))
                for k in 0..<bins { dense[b][k] *= enorm }
            }
        }
        var starts: [Int] = [], weights: [[Float]] = []
        for row in dense {
            let first = row.firstIndex { $0 > 0 } ?? 0
            let last = row.lastIndex { $0 > 0 } ?? -1
            starts.append(first)
            weights.append(last >= first ? row[first...last].map { Float($0) } : [])
        }
        self.bands = c.bands
        self.bins = bins
        self.starts = starts
        self.weights = weights
    }

    /// The dense matrix (bands × bins), for tests and export.
    public var dense: [[Float]] {
        (0..<bands).map { b in
            var row = [Float](repeating: 0, count: bins)
            for (i, w) in weights[b].enumerated() { row[starts[b] + i] = w }
            return row
        }
    }
}
