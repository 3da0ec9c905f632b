import Foundation

/// Att-RNN's and MHAtt-RNN's attention pooling (Docs/students.md §8-9): the query comes from the middle
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
        var queries: [Float]  // [B, heads, d]
        /// The attention weights α, [B, heads, T] (a temporal map that can be distilled directly).
        public var weights: [Float]
        public var outputs: [Float]  // [B, heads·d]
    }

    public func forward(
        _ h: UnsafePointer<Float>, batch b: Int, steps t: Int, queryWeights w: UnsafePointer<Float>,
        queryBiases qb: UnsafePointer<Float>
    ) -> Cache {
        let d = width, mid = t / 2, nh = heads
        var cache = Cache(
            batch: b, steps: t, queries: uninitializedFloats(b * nh * d),
            weights: uninitializedFloats(b * nh * t), outputs: uninitializedFloats(b * nh * d))
        // The middle steps u [B, d], then per head Q_h [B, d] = U W_h + b_h, stored as queries [B, heads, d].
        var u = uninitializedFloats(b * d)
        for i in 0..<b { for k in 0..<d { u[i * d + k] = h[(i * t + mid) * d + k] } }
        cache.queries.withUnsafeMutableBufferPointer { q in
            let qp = q.baseAddress!
            for head in 0..<nh {
                for i in 0..<b { (qp + (i * nh + head) * d).update(from: qb + head * d, count: d) }
                BLAS.gemm(
                    m: b, n: d, k: d, a: u, lda: d, b: w + head * d * d, ldb: d, beta: 1, c: qp + head * d, ldc: nh * d)
            }
        }
        var scores = uninitializedFloats(nh * t)
        cache.weights.withUnsafeMutableBufferPointer { a in
            cache.outputs.withUnsafeMutableBufferPointer { o in
                cache.queries.withUnsafeBufferPointer { q in
                    for i in 0..<b {
                        let hi = h + i * t * d
                        // scores [heads, T] = Q_i H_iᵀ; α = softmax over T; v [heads, d] = α H_i.
                        scores.withUnsafeMutableBufferPointer { sp in
                            BLAS.gemm(
                                transB: true, m: nh, n: t, k: d, a: q.baseAddress! + i * nh * d, lda: d, b: hi, ldb: d,
                                c: sp.baseAddress!, ldc: t)
                        }
                        Softmax.forward(scores, rows: nh, width: t, into: a.baseAddress! + i * nh * t)
                        BLAS.gemm(
                            m: nh, n: d, k: t, a: a.baseAddress! + i * nh * t, lda: t, b: hi, ldb: d,
                            c: o.baseAddress! + i * nh * d, ldc: d)
                    }
                }
            }
        }
        return cache
    }

    /// Accumulates (+=) dW, db and dH from dLoss/dv (`dOut` [B, heads·d]).
    public func backward(
        _ cache: Cache, input h: UnsafePointer<Float>, outputGradient dOut: UnsafePointer<Float>,
        queryWeights w: UnsafePointer<Float>, weightGradient dW: UnsafeMutablePointer<Float>,
        biasGradient dBias: UnsafeMutablePointer<Float>, inputGradient dH: UnsafeMutablePointer<Float>,
        weightsGradient dA: UnsafePointer<Float>? = nil
    ) {
        let b = cache.batch, t = cache.steps, d = width, mid = t / 2, nh = heads
        var dQ = uninitializedFloats(b * nh * d)
        var dAlpha = uninitializedFloats(nh * t), dScores = uninitializedFloats(nh * t)
        cache.weights.withUnsafeBufferPointer { a in
            cache.queries.withUnsafeBufferPointer { q in
                dQ.withUnsafeMutableBufferPointer { dq in
                    for i in 0..<b {
                        let hi = h + i * t * d, dhi = dH + i * t * d
                        let dv = dOut + i * nh * d, alpha = a.baseAddress! + i * nh * t
                        // v = α H: dα = dv Hᵀ, dH += αᵀ dv.
                        dAlpha.withUnsafeMutableBufferPointer { da in
                            BLAS.gemm(
                                transB: true, m: nh, n: t, k: d, a: dv, lda: d, b: hi, ldb: d, c: da.baseAddress!,
                                ldc: t)
                            // A loss on α itself (distilling the model's own attention) adds its gradient here.
                            if let dA { for j in 0..<(nh * t) { da[j] += dA[i * nh * t + j] } }
                        }
                        BLAS.gemm(
                            transA: true, m: t, n: d, k: nh, a: alpha, lda: t, b: dv, ldb: d, beta: 1, c: dhi, ldc: d)
                        dScores.withUnsafeMutableBufferPointer { ds in
                            Softmax.backward(
                                output: alpha, outputGradient: dAlpha, rows: nh, width: t, into: ds.baseAddress!)
                        }
                        // scores = Q Hᵀ: dQ = dS H, dH += dSᵀ Q.
                        BLAS.gemm(
                            m: nh, n: d, k: t, a: dScores, lda: t, b: hi, ldb: d, c: dq.baseAddress! + i * nh * d,
                            ldc: d)
                        BLAS.gemm(
                            transA: true, m: t, n: d, k: nh, a: dScores, lda: t, b: q.baseAddress! + i * nh * d, ldb: d,
                            beta: 1, c: dhi, ldc: d)
                    }
                }
            }
        }
        // Q_h = U W_h + b_h: dW_h += Uᵀ dQ_h, db_h += Σ dQ_h, dU += dQ_h W_hᵀ (into the middle step of dH).
        var u = uninitializedFloats(b * d), dU = [Float](repeating: 0, count: b * d)
        for i in 0..<b { for k in 0..<d { u[i * d + k] = h[(i * t + mid) * d + k] } }
        dQ.withUnsafeBufferPointer { dq in
            for head in 0..<nh {
                let dqh = dq.baseAddress! + head * d
                BLAS.gemm(
                    transA: true, m: d, n: d, k: b, a: u, lda: d, b: dqh, ldb: nh * d, beta: 1, c: dW + head * d * d,
                    ldc: d)
                for i in 0..<b { for k in 0..<d { dBias[head * d + k] += dqh[i * nh * d + k] } }
                dU.withUnsafeMutableBufferPointer { du in
                    BLAS.gemm(
                        transB: true, m: b, n: d, k: d, a: dqh, lda: nh * d, b: w + head * d * d, ldb: d, beta: 1,
                        c: du.baseAddress!, ldc: d)
                }
            }
        }
        for i in 0..<b { for k in 0..<d { dH[(i * t + mid) * d + k] += dU[i * d + k] } }
    }
}

/// The temporal attention distillation loss of the method (Docs/method.md §5): the student's training-only
/// head a_S = softmax_t(c'_t · q / τ) against the teacher target a_T, L = KL(a_T ‖ a_S) averaged over the batch.
public enum TemporalAttentionKD {
    public struct Result: Sendable {
        public var loss: Double
        /// a_S, [B, T].
        public var studentAttention: [Float]
    }

    /// a_S = softmax_t(c′_t · q / τ) [B, T] of the context c′ [B, T, d] and the query q [d].
    public static func studentAttention(
        context c: UnsafePointer<Float>, batch b: Int, steps t: Int, width d: Int,
        query q: UnsafePointer<Float>, temperature tau: Float
    ) -> [Float] {
        var scores = [Float](repeating: 0, count: b * t), a = [Float](repeating: 0, count: b * t)
        for i in 0..<b {
            for s in 0..<t {
                scores[i * t + s] = (0..<d).reduce(Float(0)) { $0 + c[(i * t + s) * d + $1] * q[$1] } / tau
            }
        }
        a.withUnsafeMutableBufferPointer { Softmax.forward(scores, rows: b, width: t, into: $0.baseAddress!) }
        return a
    }

    /// Loss and gradients (+= into dContext [B, T, d] and dQuery [d]). `target` [B, T] rows sum to 1.
    public static func lossAndGradients(
        context c: UnsafePointer<Float>, batch b: Int, steps t: Int, width d: Int,
        query q: UnsafePointer<Float>, temperature tau: Float, target: UnsafePointer<Float>,
        contextGradient dC: UnsafeMutablePointer<Float>, queryGradient dQ: UnsafeMutablePointer<Float>
    ) -> Result {
        let a = studentAttention(context: c, batch: b, steps: t, width: d, query: q, temperature: tau)
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
