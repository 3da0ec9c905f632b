import Foundation
import Numerics

/// Multi-head scaled dot-product self-attention with PyTorch-named projections (`q_proj`, `k_proj`,
/// `v_proj`, `out_proj`), as in Hugging Face's eager wav2vec 2.0 attention: [B, T, H] → [B, T, H].
/// `probabilities` holds the last forward's attention maps [B, heads, T, T] (rows are queries).
public final class SelfAttentionLayer: Layer {
    public let name: String
    public let heads: Int
    public let q: LinearLayer, k: LinearLayer, v: LinearLayer, out: LinearLayer
    public var needsInputGradient = true
    public private(set) var probabilities: [Float] = []
    private var cache: (q: [Float], k: [Float], v: [Float], shape: [Int])?

    public init(name: String, hidden: Int, heads: Int) {
        precondition(hidden % heads == 0, "\(name): \(heads) heads do not divide \(hidden)")
        self.name = name
        self.heads = heads
        q = LinearLayer(name: "\(name).q_proj", inputs: hidden, outputs: hidden)
        k = LinearLayer(name: "\(name).k_proj", inputs: hidden, outputs: hidden)
        v = LinearLayer(name: "\(name).v_proj", inputs: hidden, outputs: hidden)
        out = LinearLayer(name: "\(name).out_proj", inputs: hidden, outputs: hidden)
    }

    public var parameters: [Parameter] { k.parameters + v.parameters + q.parameters + out.parameters }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let b = x.batch, t = x.shape[1], h = x.shape[2], d = h / heads, nh = heads
        let qs = try q.forward(x, context), ks = try k.forward(x, context), vs = try v.forward(x, context)
        var p = uninitializedFloats(b * nh * t * t), ctx = uninitializedFloats(b * t * h)
        let scale = 1 / Float(d).squareRoot()
        try qs.data.withUnsafeBufferPointer { qp in
            try ks.data.withUnsafeBufferPointer { kp in
                try vs.data.withUnsafeBufferPointer { vp in
                    try p.withUnsafeMutableBufferPointer { pp in
                        try ctx.withUnsafeMutableBufferPointer { cp in
                            let (qq, kk, vv) = (
                                SendableConstPointer(qp.baseAddress!), SendableConstPointer(kp.baseAddress!),
                                SendableConstPointer(vp.baseAddress!)
                            )
                            let (pr, cr) = (SendablePointer(pp.baseAddress!), SendablePointer(cp.baseAddress!))
                            try context.forEachChunk(b) { _, range in
                                var scores = uninitializedFloats(t * t)
                                for e in range {
                                    for head in 0..<nh {
                                        let o = e * t * h + head * d, pe = pr[(e * nh + head) * t * t]
                                        BLAS.gemm(
                                            transB: true, m: t, n: t, k: d, alpha: scale, a: qq[o], lda: h, b: kk[o],
                                            ldb: h,
                                            c: &scores, ldc: t)
                                        Softmax.forwardFast(scores, rows: t, width: t, into: pe)
                                        BLAS.gemm(m: t, n: d, k: t, a: pe, lda: t, b: vv[o], ldb: h, c: cr[o], ldc: h)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        probabilities = p
        if context.training { cache = (qs.data, ks.data, vs.data, x.shape) }
        return try out.forward(Tensor(shape: x.shape, data: ctx), context)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let cache else { preconditionFailure("\(name): backward without a training forward") }
        let b = cache.shape[0], t = cache.shape[1], h = cache.shape[2], d = h / heads, nh = heads
        let dctx = try out.backward(dy, context)
        var dq = uninitializedFloats(b * t * h), dk = dq, dv = dq
        let scale = 1 / Float(d).squareRoot()
        try cache.q.withUnsafeBufferPointer { qp in
            try cache.k.withUnsafeBufferPointer { kp in
                try cache.v.withUnsafeBufferPointer { vp in
                    try probabilities.withUnsafeBufferPointer { pp in
                        try dctx.data.withUnsafeBufferPointer { gp in
                            try dq.withUnsafeMutableBufferPointer { dqp in
                                try dk.withUnsafeMutableBufferPointer { dkp in
                                    try dv.withUnsafeMutableBufferPointer { dvp in
                                        let (qq, kk, vv) = (
                                            SendableConstPointer(qp.baseAddress!),
                                            SendableConstPointer(kp.baseAddress!),
                                            SendableConstPointer(vp.baseAddress!)
                                        )
                                        let (pr, gr) = (
                                            SendableConstPointer(pp.baseAddress!), SendableConstPointer(gp.baseAddress!)
                                        )
                                        let (dQ, dK, dV) = (
                                            SendablePointer(dqp.baseAddress!), SendablePointer(dkp.baseAddress!),
                                            SendablePointer(dvp.baseAddress!)
                                        )
                                        try context.forEachChunk(b) { _, range in
                                            var dp = uninitializedFloats(t * t), ds = uninitializedFloats(t * t)
                                            for e in range {
                                                for head in 0..<nh {
                                                    let o = e * t * h + head * d, pe = pr[(e * nh + head) * t * t]
                                                    // dP = dC·Vᵀ, dV = Pᵀ·dC, dS = softmax′ · scale,
                                                    // dQ = dS·K, dK = dSᵀ·Q.
                                                    BLAS.gemm(
                                                        transB: true, m: t, n: t, k: d, a: gr[o], lda: h, b: vv[o],
                                                        ldb: h, c: &dp, ldc: t)
                                                    BLAS.gemm(
                                                        transA: true, m: t, n: d, k: t, a: pe, lda: t, b: gr[o], ldb: h,
                                                        c: dV[o], ldc: h)
                                                    Softmax.backward(
                                                        output: pe, outputGradient: dp, rows: t, width: t, into: &ds)
                                                    BLAS.gemm(
                                                        m: t, n: d, k: t, alpha: scale, a: ds, lda: t, b: kk[o], ldb: h,
                                                        c: dQ[o], ldc: h)
                                                    BLAS.gemm(
                                                        transA: true, m: t, n: d, k: t, alpha: scale, a: ds, lda: t,
                                                        b: qq[o], ldb: h,
                                                        c: dK[o], ldc: h)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let shape = cache.shape
        var dx = try q.backward(Tensor(shape: shape, data: dq), context)
        for (i, g) in try k.backward(Tensor(shape: shape, data: dk), context).data.enumerated() { dx.data[i] += g }
        for (i, g) in try v.backward(Tensor(shape: shape, data: dv), context).data.enumerated() { dx.data[i] += g }
        return dx
    }
}
