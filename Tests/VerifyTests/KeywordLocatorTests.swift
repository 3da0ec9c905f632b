import Foundation
import TKDCore
import Testing

@testable import Verify

@Suite("Keyword locator")
struct KeywordLocatorTests {
    /// A 0.25-s chirp-like clip with a little structure, so that its autocorrelation peaks sharply.
    static func clip(_ n: Int) -> [Float] {
        (0..<n).map { i in
            let t = Double(i) / 16_000
            return Float(
                0.5 * sin(2 * Double.pi * (300 + 2_000 * t) * t) * (0.5 + 0.5 * sin(Double.pi * Double(i) / Double(n))))
        }
    }

    static func noise(_ n: Int, seed: UInt64, amplitude: Double) -> [Float] {
        var rng = CounterRNG(seed: seed, key: ["verify-test"])
        return (0..<n).map { _ in Float(rng.uniform(-amplitude, amplitude)) }
    }

    @Test("finds a clip placed at any offset in noise, to the sample, with a score near 1 when clean")
    func locate() {
        let c = Self.clip(4_000)
        for (onset, seed) in [(0, 1), (123, 2), (7_777, 3), (12_000, 4)] as [(Int, UInt64)] {
            var x = Self.noise(16_000, seed: seed, amplitude: 0.05)
            for i in c.indices { x[onset + i] += c[i] }
            let found = KeywordLocator.locate(c, in: x)
            #expect(found.onset == onset, "onset \(onset): found \(found.onset) (score \(found.score))")
            #expect(found.score > 0.9 && found.score <= 1 + 1e-9, "score \(found.score)")
        }
        let clean = KeywordLocator.locate(
            c, in: [Float](repeating: 0, count: 500) + c + [Float](repeating: 0, count: 300))
        #expect(clean.onset == 500 && abs(clean.score - 1) < 1e-9, "\(clean)")
    }

    @Test("a signal shorter than the clip, or silent, gives onset 0 and score 0 instead of trapping")
    func degenerate() {
        let c = Self.clip(100)
        #expect(KeywordLocator.locate(c, in: Array(c.prefix(50))) == (0, 0))
        #expect(KeywordLocator.locate([], in: c) == (0, 0))
        let silent = KeywordLocator.locate(c, in: [Float](repeating: 0, count: 400))
        #expect(silent.score == -Double.infinity || silent.score == 0, "\(silent)")
    }
}
