import Features
import Foundation

/// Finds a clip in a longer signal by normalised cross-correlation over every lag, independently of the
/// generator: NCC(τ) = Σ x[τ+i]·c[i] / (‖x[τ ..< τ+m]‖·‖c‖), the numerator by FFT, the window
/// energies by prefix sums.
public enum KeywordLocator {
    public static func locate(_ clip: [Float], in x: [Float]) -> (onset: Int, score: Double) {
        let m = clip.count, n = x.count
        guard m > 0, n >= m else { return (0, 0) }
        let xd = x.map(Double.init), cd = clip.map(Double.init)
        let r = CrossCorrelation.valid(xd, cd)
        let norm = cd.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var prefix = [Double](repeating: 0, count: n + 1)
        for i in 0..<n { prefix[i + 1] = prefix[i] + xd[i] * xd[i] }
        var best = (onset: 0, score: -Double.infinity)
        for (tau, dot) in r.enumerated() {
            let energy = prefix[tau + m] - prefix[tau]
            guard energy > 0, norm > 0 else { continue }
            let s = dot / (energy.squareRoot() * norm)
            if s > best.score { best = (tau, s) }
        }
        return best
    }
}
