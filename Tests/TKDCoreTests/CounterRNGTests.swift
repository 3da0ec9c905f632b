import Foundation
import Testing

@testable import TKDCore

@Suite("Counter-based RNG")
struct CounterRNGTests {
    private static func hex(_ v: (UInt32, UInt32, UInt32, UInt32)) -> [UInt32] { [v.0, v.1, v.2, v.3] }

    // Known answers from Random123's kat_vectors for philox4x32 with 10 rounds.
    @Test("Philox4x32-10 matches the Random123 known-answer vectors")
    func philoxKAT() {
        #expect(
            Self.hex(CounterRNG.philox(counter: (0, 0, 0, 0), key: (0, 0)))
                == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        #expect(
            Self.hex(CounterRNG.philox(counter: (.max, .max, .max, .max), key: (.max, .max)))
                == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        #expect(
            Self.hex(
                CounterRNG.philox(
                    counter: (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
                    key: (0xa409_3822, 0x299f_31d0)))
                == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    @Test("dropoutMask is the stream of uniform() draws, from any position of the generator")
    func dropoutMask() {
        for (skip, count) in [(0, 0), (0, 7), (1, 8), (3, 1001)] {
            var a = CounterRNG(seed: 3, key: ["mask"]), b = a
            for _ in 0..<skip {
                _ = a.uniform()
                _ = b.uniform()
            }
            let mask = a.dropoutMask(count: count, rate: 0.3, keep: 2.5)
            let expected = (0..<count).map { _ in b.uniform() < 0.3 ? Float(0) : 2.5 }
            #expect(mask == expected)
            #expect(a.uniform() == b.uniform(), "the generator is left where the draws end")
        }
        var c = CounterRNG(seed: 4, key: ["mask"])
        let dropped = c.dropoutMask(count: 10_000, rate: 0.1, keep: 1).filter { $0 == 0 }.count
        #expect(dropped > 900 && dropped < 1100)
    }

    @Test("a stream depends only on its seed and key")
    func keyed() {
        var a = CounterRNG(seed: 42, key: ["generate", "2s", "training", "yes/abc"])
        var b = CounterRNG(seed: 42, key: ["generate", "2s", "training", "yes/abc"])
        let xa = (0..<100).map { _ in a.next() }
        let xb = (0..<100).map { _ in b.next() }
        #expect(xa == xb)
        var c = CounterRNG(seed: 43, key: ["generate", "2s", "training", "yes/abc"])
        var d = CounterRNG(seed: 42, key: ["generate", "2s", "training", "yes/abd"])
        var e = CounterRNG(seed: 42, key: ["generat", "e2s", "training", "yes/abc"])
        #expect((0..<100).map { _ in c.next() } != xa)
        #expect((0..<100).map { _ in d.next() } != xa)
        #expect((0..<100).map { _ in e.next() } != xa, "key parts are length-prefixed")
    }

    @Test("uniformInt covers its range evenly (chi-square, 9 degrees of freedom, p ≈ 0.001)")
    func uniformInt() {
        var rng = CounterRNG(seed: 7, key: ["uniform"])
        var counts = [Int](repeating: 0, count: 10)
        let n = 100_000
        for _ in 0..<n {
            let v = rng.uniformInt(0..<10)
            #expect((0..<10).contains(v))
            counts[v] += 1
        }
        let expected = Double(n) / 10
        let chi2 = counts.reduce(0.0) { $0 + pow(Double($1) - expected, 2) / expected }
        #expect(chi2 < 27.88, "chi-square \(chi2), counts \(counts)")
        // Both ends of a closed range are reachable.
        var seen = Set<Int>()
        for _ in 0..<200 { seen.insert(rng.uniformInt(3...5)) }
        #expect(seen == [3, 4, 5])
    }

    @Test("normal() has mean 0 and standard deviation 1 (within 4 standard errors)")
    func normal() {
        var rng = CounterRNG(seed: 3, key: ["normal"])
        let n = 200_000
        let xs = (0..<n).map { _ in rng.normal() }
        let mean = xs.reduce(0, +) / Double(n)
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        #expect(abs(mean) < 4 / Double(n).squareRoot())
        #expect(abs(variance.squareRoot() - 1) < 4 / (2 * Double(n)).squareRoot())
    }
}
