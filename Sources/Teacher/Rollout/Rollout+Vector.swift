import DatasetFormat
import Foundation

/// Attention rollout (Abnar & Zuidema, 2020): how much each input frame contributes to the representation
/// a query reads, through every layer, as a 1-D distribution over time.
extension Rollout {
    /// The rollout vector [T] (sums to 1) from per-layer attentions [heads, T, T] (rows are queries),
    /// first layer first. `head` (the row the teacher's head reads) resolves `.auto` (`row(head:)`).
    public func vector(_ attentions: [[Float]], heads: Int, frames t: Int, head: Row = .mean) -> [Float] {
        guard t > 0 else { return [] }
        guard !attentions.isEmpty else { return [Float](repeating: 1 / Float(t), count: t) }
        // Row q of Â_L ⋯ Â_1 is e_qᵀ·Â_L ⋯ Â_1 (the mean row: (1/T)·1ᵀ·…): a vector pushed down
        // from the last layer, O(L·T²) instead of the O(L·T³) of forming the joint map.
        let useMean = row(head: head) == .mean
        var v = [Double](repeating: 0, count: t)
        if useMean { for j in 0..<t { v[j] = 1 / Double(t) } } else { v[0] = 1 }
        for a in attentions.reversed() {
            let fused = self.fused(a, heads: heads, frames: t)
            var next = [Double](repeating: 0, count: t)
            for r in 0..<t {
                let w = v[r]
                guard w != 0 else { continue }
                for j in 0..<t { next[j] += w * fused[r * t + j] }
            }
            v = next
        }
        let total = v.reduce(0, +)
        return v.map { Float(total > 0 ? $0 / total : 1 / Double(t)) }
    }

    /// One layer's Â: heads fused, optional discard, residual added, rows renormalised.
    func fused(_ a: [Float], heads: Int, frames t: Int) -> [Double] {
        precondition(a.count == heads * t * t, "attention size \(a.count) is not heads·T·T")
        var fused = [Double](repeating: 0, count: t * t)
        for i in 0..<(t * t) {
            var v: Double
            switch fusion {
            case .mean:
                v = 0
                for h in 0..<heads { v += Double(a[h * t * t + i]) }
                v /= Double(heads)
            case .max:
                v = -.infinity
                for h in 0..<heads { v = Swift.max(v, Double(a[h * t * t + i])) }
            case .min:
                v = .infinity
                for h in 0..<heads { v = Swift.min(v, Double(a[h * t * t + i])) }
            }
            fused[i] = v
        }
        if discard > 0 {
            let drop = Int((Double(discard) * Double(t)).rounded(.down))
            for r in 0..<t {
                let order = (0..<t).filter { $0 != r }.sorted {
                    fused[r * t + $0] != fused[r * t + $1] ? fused[r * t + $0] < fused[r * t + $1] : $0 < $1
                }
                for j in order.prefix(drop) { fused[r * t + j] = 0 }
            }
        }
        for r in 0..<t {
            for j in 0..<t { fused[r * t + j] *= Double(1 - residual) }
            fused[r * t + r] += Double(residual)
            let s = (0..<t).reduce(0.0) { $0 + fused[r * t + $1] }
            if s > 0 { for j in 0..<t { fused[r * t + j] /= s } }
        }
        return fused
    }
}
