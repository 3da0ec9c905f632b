import Foundation
import TKDCore

/// SpecAugment with kws_streaming's semantics (Docs/students.md §2): `timeMasks` stripes of width
/// randint[0, timeWidth) along time and `frequencyMasks` stripes of width randint[0, frequencyWidth)
/// along the features, each zeroed at [dim − start − width, dim − start) with start ~ randint[0, dim − width);
/// one set of stripes is shared by every example of a batch.
public struct SpecAugment: Sendable, Equatable, Codable {
    public var timeMasks = 2
    public var timeWidth = 10
    public var frequencyMasks = 2
    public var frequencyWidth = 5
    /// How the time masks follow the input's length (nil: they do not, kws_streaming's fixed masks).
    public var lengthScaling: LengthScaling?

    /// `length_scaling`: the time masks are set for a one-second input (kws_streaming's clips) and scaled by
    /// the input's length in seconds, so they cover the same share of a longer input.
    public enum LengthScaling: String, Sendable, Equatable, Codable, CaseIterable, ChoiceOption {
        /// Fixed masks (the default).
        case none
        /// `time_width` × seconds: wider masks (an 8-s input gets masks up to 8 × 10 frames wide).
        case width
        /// `time_masks` × seconds: more masks of the same width (each still about a syllable).
        case count
    }

    enum CodingKeys: String, CodingKey {
        case timeMasks = "time_masks", timeWidth = "time_width"
        case frequencyMasks = "frequency_masks", frequencyWidth = "frequency_width"
        case lengthScaling = "length_scaling"
    }

    public init(timeMasks: Int = 2, timeWidth: Int = 10, frequencyMasks: Int = 2, frequencyWidth: Int = 5) {
        self.timeMasks = timeMasks
        self.timeWidth = timeWidth
        self.frequencyMasks = frequencyMasks
        self.frequencyWidth = frequencyWidth
    }

    /// The masks for an input of `seconds` seconds (`lengthScaling` applied; rounded to whole frames or masks).
    public func scaled(seconds: Double) -> SpecAugment {
        var a = self
        switch lengthScaling ?? .none {
        case .none: break
        case .width: a.timeWidth = Int((Double(timeWidth) * seconds).rounded())
        case .count: a.timeMasks = Int((Double(timeMasks) * seconds).rounded())
        }
        return a
    }

    /// The zeroed ranges for one batch of [frames, features] examples.
    public func stripes(
        frames: Int, features: Int, rng: inout CounterRNG
    ) -> (time: [Range<Int>], frequency: [Range<Int>]) {
        func draw(_ count: Int, _ maxWidth: Int, _ dim: Int) -> [Range<Int>] {
            (0..<count).compactMap { _ in
                let width = maxWidth > 0 ? rng.uniformInt(0..<maxWidth) : 0
                guard width > 0, dim - width > 0 else { return nil }
                let start = rng.uniformInt(0..<(dim - width))
                return (dim - start - width)..<(dim - start)
            }
        }
        return (draw(timeMasks, timeWidth, frames), draw(frequencyMasks, frequencyWidth, features))
    }

    /// Zeroes the stripes in every example of `batch` ([B, frames, features], row-major).
    public func apply(
        _ batch: inout [Float], examples: Int, frames: Int, features: Int,
        stripes: (time: [Range<Int>], frequency: [Range<Int>])
    ) {
        for e in 0..<examples {
            let base = e * frames * features
            for r in stripes.time { for t in r { for f in 0..<features { batch[base + t * features + f] = 0 } } }
            for r in stripes.frequency { for t in 0..<frames { for f in r { batch[base + t * features + f] = 0 } } }
        }
    }
}
