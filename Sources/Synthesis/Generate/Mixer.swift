import AudioIO
import Foundation

/// Renders an example from its manifest record: a pure function of the record and the source samples.
/// `tkd generate` and `tkd render` both go through it, which is why a manifest re-renders byte for byte.
///
/// mix[t] = Σ_segments noise_s[t] · g_s · fade_s(t)  +  keyword[t - onset] · g_k, then × scale,
/// with g = 10^(gain_db / 20) in Float, segments summed in manifest order, the keyword added last.
public enum Mixer {
    /// The separate components at unit `scale`.
    public struct Components: Sendable {
        public var keyword: [Float]
        public var noise: [Float]
    }

    /// The keyword clip padded with zeros (or cut) to one second.
    public static func oneSecond(_ clip: [Float], sampleRate: Int) -> [Float] {
        if clip.count >= sampleRate { return Array(clip.prefix(sampleRate)) }
        return clip + [Float](repeating: 0, count: sampleRate - clip.count)
    }

    /// Equal-power fade weights: fade-in sin(π/2 · (i + ½)/n), fade-out cos(π/2 · (i + ½)/n).
    static func fadeIn(_ i: Int, _ n: Int) -> Float { Float(sin(Double.pi / 2 * (Double(i) + 0.5) / Double(n))) }
    static func fadeOut(_ i: Int, _ n: Int) -> Float { Float(cos(Double.pi / 2 * (Double(i) + 0.5) / Double(n))) }

    static func amplitude(_ gainDB: Double) -> Float { Float(pow(10, gainDB / 20)) }

    /// Renders the components.
    /// - Parameters:
    ///   - keywordClip: the clip at the dataset rate, already one second long (nil for `_silence_`).
    ///   - segments: the samples of each noise segment, in record order.
    public static func components(_ record: ExampleRecord, keywordClip: [Float]?, segments: [[Float]]) -> Components {
        let n = record.numSamples
        var noise = [Float](repeating: 0, count: n)
        for (seg, x) in zip(record.noise, segments) {
            let g = amplitude(seg.gainDB)
            noise.withUnsafeMutableBufferPointer { out in
                x.withUnsafeBufferPointer { src in
                    for i in 0..<seg.numSamples {
                        var w = g
                        if i < seg.fadeInSamples { w *= fadeIn(i, seg.fadeInSamples) }
                        let fromEnd = seg.numSamples - 1 - i
                        if fromEnd < seg.fadeOutSamples { w *= fadeOut(seg.fadeOutSamples - 1 - fromEnd, seg.fadeOutSamples) }
                        out[seg.destStartSample + i] += src[i] * w
                    }
                }
            }
        }
        var keyword = [Float](repeating: 0, count: n)
        if let kw = record.keyword, let clip = keywordClip {
            let g = amplitude(kw.gainDB)
            for i in 0..<clip.count { keyword[kw.onsetSample + i] = clip[i] * g }
        }
        return Components(keyword: keyword, noise: noise)
    }

    /// keyword + noise, times `scale`.
    public static func mix(_ c: Components, scale: Double) -> [Float] {
        let s = Float(scale)
        var out = [Float](repeating: 0, count: c.noise.count)
        for i in 0..<out.count { out[i] = (c.noise[i] + c.keyword[i]) * s }
        return out
    }

    /// Peak of keyword + noise at unit scale.
    public static func peak(_ c: Components) -> Float {
        var p: Float = 0
        for i in 0..<c.noise.count { p = max(p, abs(c.noise[i] + c.keyword[i])) }
        return p
    }

    /// The SNR of the components in dB over `range` (keyword RMS over noise RMS), nil when the noise is silent there.
    public static func snrDB(_ c: Components, range: Range<Int>) -> Double? {
        let k = Levels.rms(c.keyword, range: range), n = Levels.rms(c.noise, range: range)
        guard n > 0, k > 0 else { return nil }
        return 20 * log10(k / n)
    }
}
