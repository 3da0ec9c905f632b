import DatasetFormat
import Foundation
import Layers
import TKDCore
import TestSupport
import Testing
import TrainingLoop

@testable import Training

@Suite("SpecAugment")
struct SpecAugmentTests {
    @Test("stripes follow kws_streaming's ranges and reach both ends of each axis")
    func ranges() {
        let aug = SpecAugment()
        var widths = Set<Int>(), ends = Set<Int>(), starts = Set<Int>()
        for seed in 0..<3000 {
            var rng = CounterRNG(seed: UInt64(seed), key: ["spec-augment-test"])
            let (time, freq) = aug.stripes(frames: 49, features: 20, rng: &rng)
            #expect(time.count <= 2 && freq.count <= 2)
            for r in time {
                #expect(r.lowerBound >= 1 && r.upperBound <= 49 && (1..<10).contains(r.count), "\(r)")
                widths.insert(r.count)
                ends.insert(r.upperBound)
                starts.insert(r.lowerBound)
            }
            for r in freq { #expect(r.lowerBound >= 1 && r.upperBound <= 20 && (1..<5).contains(r.count), "\(r)") }
        }
        // start ~ randint[0, dim − width): the stripe can end at the last frame but never start at 0.
        #expect(widths == Set(1..<10))
        #expect(ends.contains(49) && !starts.contains(0) && starts.contains(1))
    }

    @Test("the same stripes zero every example of a batch; the draw is keyed by the seed")
    func apply() {
        let aug = SpecAugment()
        var a = CounterRNG(seed: 9, key: ["batch", "17"]), b = CounterRNG(seed: 9, key: ["batch", "17"])
        let s1 = aug.stripes(frames: 10, features: 6, rng: &a), s2 = aug.stripes(frames: 10, features: 6, rng: &b)
        #expect(s1.time == s2.time && s1.frequency == s2.frequency)
        let stripes = (time: [2..<4], frequency: [5..<6])
        var batch = [Float](repeating: 1, count: 3 * 10 * 6)
        aug.apply(&batch, examples: 3, frames: 10, features: 6, stripes: stripes)
        for e in 0..<3 {
            for t in 0..<10 {
                for f in 0..<6 {
                    let zeroed = (2..<4).contains(t) || f == 5
                    #expect(batch[(e * 10 + t) * 6 + f] == (zeroed ? 0 : 1))
                }
            }
        }
    }

    @Test("length_scaling: an 8-s input gets 8 × the time width (width) or 8 × the masks (count); none keeps them")
    func lengthScaling() {
        var aug = SpecAugment()
        #expect(aug.scaled(seconds: 8) == aug)
        aug.lengthScaling = .width
        let wide = aug.scaled(seconds: 8)
        #expect(wide.timeWidth == 80 && wide.timeMasks == 2 && wide.frequencyWidth == 5 && wide.frequencyMasks == 2)
        aug.lengthScaling = .count
        let many = aug.scaled(seconds: 8)
        #expect(many.timeWidth == 10 && many.timeMasks == 16)
        #expect(aug.scaled(seconds: 1) == aug)
        // The share of an 8-s input (399 frames) the masks can cover is a 1-s input's (49 frames), within rounding.
        var rng = CounterRNG(seed: 1, key: ["scaled"])
        let stripes = wide.stripes(frames: 399, features: 20, rng: &rng)
        #expect(stripes.time.allSatisfy { $0.count < 80 })
    }
}
