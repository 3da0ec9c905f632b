import Foundation
import TKDCore

/// Minibatches drawn from a per-epoch shuffle keyed by (seed, epoch): step s (1-based) takes global
/// positions [(s − 1)·B, s·B) of the concatenated epochs, so any step's batch is known without replaying.
public enum EpochShuffle {
    public static func batch(_ ids: [String], batchSize b: Int, seed: UInt64, step: Int) -> [String] {
        let n = ids.count
        var out: [String] = []
        out.reserveCapacity(b)
        var epoch = -1
        var order: [Int] = []
        for g in ((step - 1) * b)..<(step * b) {
            let e = g / n
            if e != epoch {
                epoch = e
                var rng = CounterRNG(seed: seed, key: ["train", "shuffle", String(e)])
                order = Array(0..<n)
                for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, rng.uniformInt(0...i)) }
            }
            out.append(ids[order[g % n]])
        }
        return out
    }
}
