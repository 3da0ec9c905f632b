import Foundation
import TKDCore
import Testing
import Training

@testable import Study

@Suite("Study: statistics and the correctness bits")
struct StudyStatisticsTests {
    @Test("mean ± sd and the t-interval over seeds match hand-computed values")
    func tInterval() throws {
        let (m, sd) = StudyStatistics.meanSD([0.01, 0.03, 0.02])
        #expect(abs(m - 0.02) < 1e-15)
        #expect(abs(sd - 0.01) < 1e-15)
        // t(0.975, 2) = 4.303: half-width 4.303 · 0.01 / √3.
        let t = try #require(StudyStatistics.tInterval([0.01, 0.03, 0.02]))
        #expect(abs(t.lo - (0.02 - 4.303 * 0.01 / 3.0.squareRoot())) < 1e-12)
        #expect(abs(t.hi - (0.02 + 4.303 * 0.01 / 3.0.squareRoot())) < 1e-12)
        #expect(StudyStatistics.tInterval([0.5]) == nil)
        #expect(StudyStatistics.t975(100) == 1.96)
    }

    @Test("the paired bootstrap: degenerate cases are exact, a large sample matches the normal approximation")
    func bootstrap() throws {
        let n = 1000
        let same = [[Bool]](repeating: (0..<n).map { $0 % 3 == 0 }, count: 3)
        let zero = try #require(
            StudyStatistics.pairedBootstrap(treatment: same, baseline: same, replicates: 500, seed: 1))
        #expect(zero.lo == 0 && zero.hi == 0)
        let all = [[Bool]](repeating: [Bool](repeating: true, count: n), count: 2)
        let none = [[Bool]](repeating: [Bool](repeating: false, count: n), count: 2)
        let one = try #require(
            StudyStatistics.pairedBootstrap(treatment: all, baseline: none, replicates: 500, seed: 1))
        #expect(one.lo == 1 && one.hi == 1)
        // One seed; treatment right on 60 % of examples, baseline on 50 %, independently drawn: the
        // difference of paired indicators d_i has variance p₁(1-p₁) + p₀(1-p₀) − 2cov; its interval
        // half-width ≈ 1.96·sd(d)/√n.
        var rng = CounterRNG(seed: 9, key: ["test"])
        let a = (0..<n).map { _ in rng.uniform() < 0.6 }, b = (0..<n).map { _ in rng.uniform() < 0.5 }
        let d = zip(a, b).map { Double($0 ? 1 : 0) - Double($1 ? 1 : 0) }
        let (mean, sd) = StudyStatistics.meanSD(d)
        let ci = try #require(
            StudyStatistics.pairedBootstrap(treatment: [a], baseline: [b], replicates: 4000, seed: 3))
        let half = 1.96 * sd / Double(n).squareRoot()
        #expect(abs((ci.hi - ci.lo) / 2 - half) < 0.1 * half, "bootstrap \(ci), normal ±\(half)")
        #expect(abs((ci.hi + ci.lo) / 2 - mean) < 0.2 * half)
        // Deterministic for a seed; another seed moves it.
        #expect(StudyStatistics.pairedBootstrap(treatment: [a], baseline: [b], replicates: 4000, seed: 3)! == ci)
        #expect(StudyStatistics.pairedBootstrap(treatment: [a], baseline: [b], replicates: 4000, seed: 4)! != ci)
        // Seeds that disagree (differences of +10, +60, +10 points) widen the interval well beyond that of three
        // seeds that agree.
        let agree = try #require(
            StudyStatistics.pairedBootstrap(treatment: [a, a, a], baseline: [b, b, b], replicates: 4000, seed: 3))
        let wrong = [Bool](repeating: false, count: n)
        let wide = try #require(
            StudyStatistics.pairedBootstrap(treatment: [a, a, a], baseline: [b, wrong, b], replicates: 4000, seed: 3))
        #expect(wide.hi - wide.lo > 2 * (agree.hi - agree.lo), "\(wide) against \(agree)")
        // Mismatched lengths are refused.
        #expect(
            StudyStatistics.pairedBootstrap(treatment: [a], baseline: [Array(b.prefix(10))], replicates: 10, seed: 0)
                == nil)
    }

    @Test("correctness bits survive the hex round trip; malformed hex is refused")
    func hex() {
        for count in [1, 3, 4, 5, 17] {
            var rng = CounterRNG(seed: UInt64(count), key: ["hex"])
            let bits = (0..<count).map { _ in rng.uniform() < 0.5 }
            let text = EvaluationDetails.hex(bits)
            #expect(text.count == (count + 3) / 4)
            #expect(EvaluationDetails.bits(hex: text, count: count) == bits)
        }
        #expect(EvaluationDetails.hex([true, false, false, false, true]) == "88")
        #expect(EvaluationDetails.bits(hex: "8", count: 5) == nil, "too short")
        #expect(EvaluationDetails.bits(hex: "8g", count: 5) == nil, "not hex")
        #expect(EvaluationDetails.bits(hex: "8F", count: 5) == nil, "upper case")
        #expect(EvaluationDetails.bits(hex: "8c", count: 5) == nil, "bits set past the last example")
        #expect(EvaluationDetails.bits(hex: "", count: -3) == nil, "a negative count from a hostile ledger entry")
    }
}
