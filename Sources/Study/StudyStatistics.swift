import Foundation
import TKDCore

/// The study's statistics: paired differences between two columns over the same seeds and test examples.
public enum StudyStatistics {
    /// Mean and sample standard deviation (0 for one value).
    public static func meanSD(_ x: [Double]) -> (mean: Double, sd: Double) {
        guard !x.isEmpty else { return (.nan, .nan) }
        let m = x.reduce(0, +) / Double(x.count)
        guard x.count > 1 else { return (m, 0) }
        let v = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)
        return (m, v.squareRoot())
    }

    /// Student's t quantile t(0.975, df) for df 1-30 (beyond: the normal 1.96).
    public static func t975(_ df: Int) -> Double {
        let table: [Double] = [
            12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
            2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
        ]
        return df >= 1 && df <= table.count ? table[df - 1] : 1.96
    }

    /// 95 % t-interval of the mean of per-seed differences (nil for fewer than two seeds).
    public static func tInterval(_ differences: [Double]) -> (lo: Double, hi: Double)? {
        guard differences.count >= 2 else { return nil }
        let (m, sd) = meanSD(differences)
        let half = t975(differences.count - 1) * sd / Double(differences.count).squareRoot()
        return (m - half, m + half)
    }

    /// 95 % percentile interval of the mean paired difference in accuracy, by a two-level bootstrap: each
    /// replicate draws the seeds with replacement and, once for all of them, the test examples with replacement,
    /// and averages (treatment − baseline) correctness over both. `treatment[s]` and `baseline[s]` are seed
    /// s's per-example correctness on the same examples. Deterministic for a given `seed`.
    public static func pairedBootstrap(
        treatment: [[Bool]], baseline: [[Bool]], replicates: Int, seed: UInt64
    ) -> (lo: Double, hi: Double)? {
        let seeds = treatment.count
        guard seeds > 0, seeds == baseline.count, let n = treatment.first?.count, n > 0,
            treatment.allSatisfy({ $0.count == n }), baseline.allSatisfy({ $0.count == n })
        else { return nil }
        // d[s][i] ∈ {-1, 0, 1}
        let d: [[Int8]] = (0..<seeds).map { s in
            (0..<n).map { Int8(treatment[s][$0] ? 1 : 0) - Int8(baseline[s][$0] ? 1 : 0) }
        }
        var rng = CounterRNG(seed: seed, key: ["study", "bootstrap"])
        var stats = [Double](repeating: 0, count: replicates)
        var pick = [Int](repeating: 0, count: seeds)
        var counts = [Int32](repeating: 0, count: n)
        for r in 0..<replicates {
            for s in 0..<seeds { pick[s] = rng.uniformInt(0..<seeds) }
            // Example multiplicities of this replicate's resample.
            for i in 0..<n { counts[i] = 0 }
            for _ in 0..<n { counts[rng.uniformInt(0..<n)] += 1 }
            var total = 0
            for k in 0..<seeds {
                let row = d[pick[k]]
                var sum: Int32 = 0
                for i in 0..<n where row[i] != 0 { sum += Int32(row[i]) * counts[i] }
                total += Int(sum)
            }
            stats[r] = Double(total) / Double(n * seeds)
        }
        stats.sort()
        func quantile(_ q: Double) -> Double {
            let pos = q * Double(replicates - 1)
            let lo = Int(pos.rounded(.down)), hi = min(lo + 1, replicates - 1)
            return stats[lo] + (stats[hi] - stats[lo]) * (pos - Double(lo))
        }
        return (quantile(0.025), quantile(0.975))
    }
}
