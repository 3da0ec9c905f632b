import Foundation

/// Att-RNN's and MHAtt-RNN's attention pooling (STUDENTS.md §8-9): the query comes from the middle
/// step u = H[T/2] (integer division) through a separate Dense(d) per head; keys and values are the raw
/// H; no scaling, no output projection; heads are concatenated.
///
///     q_h = u W_h + b_h,   α_h = softmax_t(H q_h),   v_h = α_hᵀ H,   v = [v_1; …; v_heads]
///
/// Shapes: H [B, T, d], weights [heads, d, d], biases [heads, d], output [B, heads·d], α [B, heads, T].
public struct QueryAttention: Sendable, Equatable {
    public let width: Int
    public let heads: Int

    public init(width: Int, heads: Int) {
        precondition(width > 0 && heads > 0, "attention sizes must be positive")
        self.width = width
        self.heads = heads
    }

    public var parameterCount: Int { heads * (width * width + width) }

    public struct Cache: Sendable {
        let batch: Int, steps: Int
        var queries: [Float]            // [B, heads, d]
        /// The attention weights α, [B, heads, T] (a temporal map that can be distilled directly).
        public var weights: [Float]
        public var outputs: [Float]     // [B, heads·d]
    }

    public func forward(_ h: UnsafePointer<Float>, batch b: Int, steps t: Int, queryWeights w: UnsafePointer<Float>,
                        queryBiases qb: UnsafePointer<Float>) -> Cache {
        let d = width, mid = t / 2
        var cache = Cache(batch: b, steps: t, queries: .init(repeating: 0, count: b * heads * d),
                          weights: .init(repeating: 0, count: b * heads * t), outputs: .init(repeating: 0, count: b * heads * d))
        var scores = [Float](repeating: 0, count: t)
        for i in 0..<b {
            let hi = h + i * t * d, u = hi + mid * d
            for head in 0..<heads {
                let q = (0..<d).map { k in
                    (0..<d).reduce(qb[head * d + k]) { $0 + u[$1] * w[(head * d + $1) * d + k] }
                }
                for k in 0..<d { cache.queries[(i * heads + head) * d + k] = q[k] }
                for s in 0..<t { scores[s] = (0..<d).reduce(Float(0)) { $0 + hi[s * d + $1] * q[$1] } }
                cache.weights.withUnsafeMutableBufferPointer { a in
                    Softmax.forward(scores, rows: 1, width: t, into: a.baseAddress! + (i * heads + head) * t)
                }
                for k in 0..<d {
                    var v: Float = 0
                    for s in 0..<t { v += cache.weights[(i * heads + head) * t + s] * hi[s * d + k] }
                    cache.outputs[(i * heads + head) * d + k] = v
                }
            }
        }
        return cache
    }

    /// Accumulates (+=) dW, db and dH from dLoss/dv (`dOut` [B, heads·d]).
    public func backward(_ cache: Cache, input h: UnsafePointer<Float>, outputGradient dOut: UnsafePointer<Float>,
                         queryWeights w: UnsafePointer<Float>, weightGradient dW: UnsafeMutablePointer<Float>,
                         biasGradient dBias: UnsafeMutablePointer<Float>, inputGradient dH: UnsafeMutablePointer<Float>) {
        let b = cache.batch, t = cache.steps, d = width, mid = t / 2
        var dAlpha = [Float](repeating: 0, count: t), dScores = [Float](repeating: 0, count: t)
        for i in 0..<b {
            let hi = h + i * t * d, dhi = dH + i * t * d, u = hi + mid * d
            for head in 0..<heads {
                let dv = dOut + (i * heads + head) * d
                let alpha = (i * heads + head) * t
                for s in 0..<t {
                    dAlpha[s] = (0..<d).reduce(Float(0)) { $0 + hi[s * d + $1] * dv[$1] }
                    for k in 0..<d { dhi[s * d + k] += cache.weights[alpha + s] * dv[k] }
                }
                cache.weights.withUnsafeBufferPointer { a in
                    Softmax.backward(output: a.baseAddress! + alpha, outputGradient: dAlpha, rows: 1, width: t,
                                     into: &dScores)
                }
                var dq = [Float](repeating: 0, count: d)
                let q = (i * heads + head) * d
                for s in 0..<t {
                    for k in 0..<d {
                        dq[k] += dScores[s] * hi[s * d + k]
                        dhi[s * d + k] += dScores[s] * cache.queries[q + k]
                    }
                }
                for j in 0..<d {
                    for k in 0..<d {
                        dW[(head * d + j) * d + k] += u[j] * dq[k]
                        dhi[mid * d + j] += dq[k] * w[(head * d + j) * d + k]
                    }
                }
                for k in 0..<d { dBias[head * d + k] += dq[k] }
            }
        }
    }
}

/// The temporal attention distillation loss of the method (PAPER.md, "Losses"): the student's training-only
/// head a_S = softmax_t(c'_t · q / τ) against the teacher target a_T, L = KL(a_T ‖ a_S) averaged over the batch.
public enum TemporalAttentionKD {
    public struct Result: Sendable {
        public var loss: Double
        /// a_S, [B, T].
        public var studentAttention: [Float]
    }

    /// Loss and gradients (+= into dContext [B, T, d] and dQuery [d]). `target` [B, T] rows sum to 1.
    public static func lossAndGradients(context c: UnsafePointer<Float>, batch b: Int, steps t: Int, width d: Int,
                                        query q: UnsafePointer<Float>, temperature tau: Float, target: UnsafePointer<Float>,
                                        contextGradient dC: UnsafeMutablePointer<Float>, queryGradient dQ: UnsafeMutablePointer<Float>) -> Result {
        var scores = [Float](repeating: 0, count: b * t), a = [Float](repeating: 0, count: b * t)
        for i in 0..<b {
            for s in 0..<t { scores[i * t + s] = (0..<d).reduce(Float(0)) { $0 + c[(i * t + s) * d + $1] * q[$1] } / tau }
        }
        a.withUnsafeMutableBufferPointer { Softmax.forward(scores, rows: b, width: t, into: $0.baseAddress!) }
        var loss = 0.0
        for i in 0..<b {
            for s in 0..<t {
                let p = Double(target[i * t + s])
                if p > 0 { loss += p * (log(p) - log(max(Double(a[i * t + s]), 1e-30))) }
                // dL/dscore = (a_S − a_T) / B, then / τ through the scores.
                let g = (a[i * t + s] - target[i * t + s]) / Float(b) / tau
                for k in 0..<d {
                    dC[(i * t + s) * d + k] += g * q[k]
                    dQ[k] += g * c[(i * t + s) * d + k]
                }
            }
        }
        return Result(loss: loss / Double(b), studentAttention: a)
    }
}
