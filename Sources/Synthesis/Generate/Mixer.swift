import AudioIO
import DatasetFormat
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

    public static func amplitude(_ gainDB: Double) -> Float { Float(pow(10, gainDB / 20)) }

    /// Renders the components.
    /// - Parameters:
    ///   - keywordClip: the clip at the dataset rate, already one second long (nil for `_silence_`).
    ///   - segments: the samples of each noise segment, in record order.
    public static func components(_ record: ExampleRecord, keywordClip: [Float]?, segments: [[Float]]) -> Components {
        let noise = renderNoise(record, segments: segments, range: 0..<record.numSamples, unitGain: false)
        var keyword = [Float](repeating: 0, count: record.numSamples)
        if let kw = record.keyword, let clip = keywordClip {
            let g = amplitude(kw.gainDB)
            for i in 0..<clip.count { keyword[kw.onsetSample + i] = clip[i] * g }
        }
        return Components(keyword: keyword, noise: noise)
    }

    /// The noise component over `range` only (index 0 of the result is sample `range.lowerBound`), with
    /// the record's gains or at unit gain. Sample values equal those of `components` exactly.
    public static func renderNoise(
        _ record: ExampleRecord, segments: [[Float]], range: Range<Int>, unitGain: Bool
    ) -> [Float] {
        renderNoise(record.noise, samples: segments, range: range, unitGain: unitGain)
    }

    /// The noise of `noise`'s segments over `range` (a stream's bed as an example's), as above.
    public static func renderNoise(
        _ noise: [NoiseSegment], samples segments: [[Float]], range: Range<Int>, unitGain: Bool
    ) -> [Float] {
        var out = [Float](repeating: 0, count: range.count)
        out.withUnsafeMutableBufferPointer { dst in
            for (seg, x) in zip(noise, segments) {
                let g = unitGain ? 1 : amplitude(seg.gainDB)
                let n = seg.numSamples, fi = seg.fadeInSamples, fo = seg.fadeOutSamples
                precondition(fi + fo <= n && x.count >= n, "segment fades overlap or samples are missing")
                // Segment-local indices that fall inside `range`.
                let lo = max(0, range.lowerBound - seg.destStartSample),
                    hi = min(n, range.upperBound - seg.destStartSample)
                guard lo < hi else { continue }
                let shift = seg.destStartSample - range.lowerBound
                x.withUnsafeBufferPointer { src in
                    // Fade-in, plain, fade-out parts, each clipped to [lo, hi).
                    func part(_ a: Int, _ b: Int) -> Range<Int> { a..<max(a, b) }
                    for i in part(lo, min(hi, fi)) { dst[shift + i] += src[i] * (g * fadeIn(i, fi)) }
                    for i in part(max(lo, fi), min(hi, n - fo)) { dst[shift + i] += src[i] * g }
                    for i in part(max(lo, n - fo), hi) { dst[shift + i] += src[i] * (g * fadeOut(i - (n - fo), fo)) }
                }
            }
        }
        return out
    }

    /// keyword + noise, times `scale`.
    public static func mix(_ c: Components, scale: Double) -> [Float] {
        let s = Float(scale)
        return [Float](unsafeUninitializedCapacity: c.noise.count) { out, count in
            c.noise.withUnsafeBufferPointer { n in
                c.keyword.withUnsafeBufferPointer { k in
                    for i in 0..<n.count { out[i] = (n[i] + k[i]) * s }
                }
            }
            count = c.noise.count
        }
    }

    /// Peak of keyword + noise at unit scale.
    public static func peak(_ c: Components) -> Float {
        c.noise.withUnsafeBufferPointer { n in
            c.keyword.withUnsafeBufferPointer { k in
                // Max of |x| through the bit patterns: for finite floats, clearing the sign bit gives
                // integers ordered like the magnitudes, and an integer max reduction vectorises.
                var p: UInt32 = 0
                for i in 0..<n.count {
                    let a = (n[i] + k[i]).bitPattern & 0x7FFF_FFFF
                    p = a > p ? a : p
                }
                return Float(bitPattern: p)
            }
        }
    }

    /// The SNR of the components in dB over `range` (keyword RMS over noise RMS), nil when the noise is silent there.
    public static func snrDB(_ c: Components, range: Range<Int>) -> Double? {
        let k = Levels.rms(c.keyword, range: range), n = Levels.rms(c.noise, range: range)
        guard n > 0, k > 0 else { return nil }
        return 20 * log10(k / n)
    }
}
