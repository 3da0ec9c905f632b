import Foundation
import Layers
import TKDCore

/// Random time shift: every example of a batch [B, T, …] moves along its second axis by its own offset in
/// [−S, S], drawn in example order from `rng`; vacated positions are zero. (kws_streaming shifts waveforms;
/// the students shift feature frames, the teacher raw samples.)
public enum TimeShift {
    /// Shifts `x` in place and returns the offsets (positive: later in time).
    public static func apply(_ x: inout Tensor, maxShift s: Int, rng: inout CounterRNG) -> [Int] {
        guard s > 0 else { return [Int](repeating: 0, count: x.batch) }
        let t = x.shape[1], width = x.exampleSize / max(t, 1)
        var shifts: [Int] = []
        for i in 0..<x.batch {
            let d = rng.uniformInt(-s...s)
            shifts.append(d)
            guard d != 0 else { continue }
            let base = i * t * width
            let old = Array(x.data[base..<(base + t * width)])
            for j in 0..<t {
                let src = j - d
                for k in 0..<width { x.data[base + j * width + k] = src >= 0 && src < t ? old[src * width + k] : 0 }
            }
        }
        return shifts
    }
}
