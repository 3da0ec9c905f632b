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
        var rng = CounterRNG(seed: seed, key: ["study", "bootstrap"])
        guard var stats = bootstrapReplicates(treatment: treatment, baseline: baseline, replicates: replicates, &rng)
        else { return nil }
        stats.sort()
        return (quantile(stats, 0.025), quantile(stats, 0.975))
    }

    /// The replicates of the two-level paired bootstrap (unsorted, in draw order); nil when the inputs do not
    /// pair.
    static func bootstrapReplicates(
        treatment: [[Bool]], baseline: [[Bool]], replicates: Int, _ rng: inout CounterRNG
    ) -> [Double]? {
        let seeds = treatment.count
        guard seeds > 0, seeds == baseline.count, let n = treatment.first?.count, n > 0,
            treatment.allSatisfy({ $0.count == n }), baseline.allSatisfy({ $0.count == n })
        else { return nil }
        // d[s][i] ∈ {-1, 0, 1}
        let d: [[Int8]] = (0..<seeds).map { s in
            (0..<n).map { Int8(treatment[s][$0] ? 1 : 0) - Int8(baseline[s][$0] ? 1 : 0) }
        }
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
        return stats
    }

    /// Linear interpolation between order statistics of sorted `stats`.
    static func quantile(_ stats: [Double], _ q: Double) -> Double {
        let pos = q * Double(stats.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, stats.count - 1)
        return stats[lo] + (stats[hi] - stats[lo]) * (pos - Double(lo))
    }

    /// Least-squares slope of y on x (nil for fewer than two distinct x).
    public static func slope(_ x: [Double], _ y: [Double]) -> Double? {
        guard x.count == y.count, x.count >= 2 else { return nil }
        let mx = x.reduce(0, +) / Double(x.count), my = y.reduce(0, +) / Double(y.count)
        var sxy = 0.0, sxx = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
        }
        return sxx > 0 ? sxy / sxx : nil
    }

    /// The trend of a paired gain over length: the least-squares slope of the mean paired difference against
    /// `x` (e.g. seconds), and its 95 % percentile interval from the two-level bootstrap run independently at
    /// every length (each length has its own seeds and test examples), the same replicate index combined across
    /// lengths. `treatment[l]`, `baseline[l]` are length l's per-seed correctness. Deterministic for `seed`.
    public static func slopeBootstrap(
        x: [Double], treatment: [[[Bool]]], baseline: [[[Bool]]], replicates: Int, seed: UInt64
    ) -> (slope: Double, lo: Double, hi: Double)? {
        guard x.count >= 2, x.count == treatment.count, x.count == baseline.count else { return nil }
        var means: [Double] = []
        var draws: [[Double]] = []
        for l in x.indices {
            let t = treatment[l], b = baseline[l]
            guard let n = t.first?.count, n > 0, t.count == b.count else { return nil }
            var total = 0.0
            for (ts, bs) in zip(t, b) {
                total += Double(zip(ts, bs).reduce(0) { $0 + ($1.0 ? 1 : 0) - ($1.1 ? 1 : 0) }) / Double(n)
            }
            means.append(total / Double(t.count))
            var rng = CounterRNG(seed: seed, key: ["study", "slope", String(l)])
            guard let r = bootstrapReplicates(treatment: t, baseline: b, replicates: replicates, &rng) else {
                return nil
            }
            draws.append(r)
        }
        guard let point = slope(x, means) else { return nil }
        var slopes = (0..<replicates).compactMap { r in slope(x, draws.map { $0[r] }) }
        guard slopes.count == replicates else { return nil }
        slopes.sort()
        return (point, quantile(slopes, 0.025), quantile(slopes, 0.975))
    }

    /// A run's convergence by the study's rule: its best validation accuracy after `(1 − window) · steps` may
    /// exceed the best up to then by at most `tolerance`. `lateGain` is that excess (negative when the late
    /// evaluations stay below the early best). Nil when the curve has no evaluation on one side.
    public static func convergence(
        curve: [[Double]], steps: Int, rule: StudyRecipe.Convergence
    ) -> (plateaued: Bool, lateGain: Double)? {
        let cut = (1 - rule.window) * Double(steps)
        let points = curve.filter { $0.count == 2 }
        let early = points.filter { $0[0] <= cut }.map { $0[1] }
        let late = points.filter { $0[0] > cut }.map { $0[1] }
        guard let e = early.max(), let l = late.max() else { return nil }
        return (l - e <= rule.tolerance + 1e-12, l - e)
    }
}
