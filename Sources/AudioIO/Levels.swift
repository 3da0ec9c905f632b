import Foundation

/// Signal levels. RMS values are linear; the dB helpers use 20·log10 of amplitude.
public enum Levels {
    /// Root mean square over `range` (the whole signal by default); 0 for an empty range.
    public static func rms(_ x: [Float], range: Range<Int>? = nil) -> Double {
        let r = range ?? 0..<x.count
        guard !r.isEmpty else { return 0 }
        var acc = 0.0
        x.withUnsafeBufferPointer { p in
            for i in r {
                let v = Double(p[i])
                acc += v * v
            }
        }
        return (acc / Double(r.count)).squareRoot()
    }

    /// Largest absolute sample value.
    public static func peak(_ x: [Float]) -> Float {
        x.reduce(0) { max($0, abs($1)) }
    }

    /// 20·log10(amplitude), with -infinity for 0.
    public static func dB(_ amplitude: Double) -> Double {
        amplitude > 0 ? 20 * log10(amplitude) : -.infinity
    }

    /// Amplitude ratio for a gain in dB.
    public static func amplitude(dB: Double) -> Double { pow(10, dB / 20) }
}
