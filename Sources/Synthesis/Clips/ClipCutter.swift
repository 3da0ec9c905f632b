import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// How a clip dataset's variant cuts a resampled clip into examples (`ClipRecipe.ClipHandling`), and the
/// samples of one example. Shared by `tkd generate` and `tkd verify --corpus` (which re-derives every example
/// from its source clip and the manifest).
public enum ClipCutter {
    /// One example's stretch of the clip: `[start, start + count)` of the resampled clip, filled out to `length`.
    public struct Excerpt: Sendable, Equatable {
        public var start: Int
        public var count: Int
        public var length: Int

        public init(start: Int, count: Int, length: Int) {
            self.start = start
            self.count = count
            self.length = length
        }
    }

    /// A source clip at the dataset's rate: libsamplerate with the recipe's converter (`output.resample_quality`).
    public static func resample(
        _ samples: [Float], from: Int, to: Int, quality: ClipRecipe.ResampleQualityName
    ) throws -> [Float] {
        try Resampler.resample(samples, from: from, to: to, quality: ResampleQuality(rawValue: quality.rawValue)!)
    }

    /// Samples of `seconds` at `rate`, rounded to nearest.
    static func samples(_ seconds: Double, rate: Int) -> Int { max(1, Int((seconds * Double(rate)).rounded())) }

    /// The examples of a clip of `n` samples (at the dataset's rate):
    /// - `crop_pad`: one of `seconds`: a longer clip cut at its start, centre (`(n − L) / 2`) or a seeded
    ///   random offset (key: seed, variant, clip id); a shorter one taken whole and padded;
    /// - `patches`: `seconds` long every `hop_seconds` from 0 while the patch fits, then one more ending at the
    ///   clip's end when the last one stopped short of it; a clip no longer than a patch is one padded patch;
    /// - `full`: the whole clip.
    public static func excerpts(
        clipSamples n: Int, handling h: ClipRecipe.ClipHandling, rate: Int, seed: UInt64, variant: String,
        clipID: String
    ) -> [Excerpt] {
        switch h.mode {
        case .full:
            return [Excerpt(start: 0, count: n, length: n)]
        case .cropPad:
            let length = samples(h.seconds ?? 1, rate: rate)
            guard n > length else { return [Excerpt(start: 0, count: n, length: length)] }
            let start: Int
            switch h.crop ?? .start {
            case .start: start = 0
            case .centre: start = (n - length) / 2
            case .random:
                var rng = CounterRNG(seed: seed, key: ["clip-crop", variant, clipID])
                start = rng.uniformInt(0...(n - length))
            }
            return [Excerpt(start: start, count: length, length: length)]
        case .patches:
            let length = samples(h.seconds ?? 1, rate: rate)
            let hop = samples(h.hopSeconds ?? (h.seconds ?? 1) / 2, rate: rate)
            guard n > length else { return [Excerpt(start: 0, count: n, length: length)] }
            var starts = Array(stride(from: 0, through: n - length, by: hop))
            if starts.last! + length < n { starts.append(n - length) }
            return starts.map { Excerpt(start: $0, count: length, length: length) }
        }
    }

    /// The example's samples: the excerpt, then (when shorter than its length) zeros, or the excerpt repeated.
    public static func render(_ clip: [Float], _ e: Excerpt, pad: ClipRecipe.ClipHandling.Pad) -> [Float] {
        var out = Array(clip[e.start..<(e.start + e.count)])
        guard e.length > e.count else { return out }
        out.reserveCapacity(e.length)
        switch pad {
        case .zeros: out += [Float](repeating: 0, count: e.length - e.count)
        case .repeat:
            while out.count < e.length { out.append(out[out.count - e.count]) }
        }
        return out
    }

    /// The clip's events (samples of the clip at `sourceRate`) in an example's timeline: converted to the dataset
    /// rate (`Resampler.outputLength`'s rounding), cut to the excerpt, shifted to its start and, with `repeat`
    /// padding, listed again for every repetition that shows them.
    public static func events(
        _ spans: [EventSpan], sourceRate: Int, rate: Int, excerpt e: Excerpt, pad: ClipRecipe.ClipHandling.Pad
    ) -> [EventSpan] {
        var out: [EventSpan] = []
        let copies = pad == .repeat ? (e.length + e.count - 1) / e.count : 1
        for s in spans {
            let on = Resampler.outputLength(inputFrames: s.onsetSample, from: sourceRate, to: rate)
            let off = Resampler.outputLength(inputFrames: s.offsetSample, from: sourceRate, to: rate)
            let a = max(on, e.start) - e.start, b = min(off, e.start + e.count) - e.start
            guard a < b else { continue }
            for k in 0..<copies {
                let lo = a + k * e.count, hi = min(b + k * e.count, e.length)
                if lo < hi { out.append(EventSpan(label: s.label, onsetSample: lo, offsetSample: hi)) }
            }
        }
        return out.sorted { ($0.onsetSample, $0.label) < ($1.onsetSample, $1.label) }
    }
}
