import Foundation

/// TF1 `LSTMCell` with peepholes and a projection (LSTM-P; Docs/students.md §4), over a batch of
/// sequences, forward and backward through time. Units n, projection p, state (c ∈ Rⁿ, m ∈ Rᵖ):
///
///     [i, j, f, o] = [x ; m_{t−1}] · W + b            (W [(in + p), 4n], gate order i, j, f, o)
///     c_t = σ(f + 1 + w_f ⊙ c_{t−1}) ⊙ c_{t−1} + σ(i + w_i ⊙ c_{t−1}) ⊙ tanh(j)
///     m_t = (σ(o + w_o ⊙ c_t) ⊙ tanh(c_t)) · P        (P [n, p], no bias, no clipping)
///
/// The forget bias 1.0 is added in the forward pass, not stored in b. Initial states are zero.
/// Tensors are batch-major: x [B, T, in], outputs m [B, T, p]. Peepholes are one array [3n]: w_i, w_f, w_o.
public struct PeepholeLSTM: Sendable, Equatable {
    public let inputs: Int
    public let units: Int
    public let projection: Int

    public init(inputs: Int, units: Int, projection: Int) {
        precondition(inputs > 0 && units > 0 && projection > 0, "LSTM sizes must be positive")
        self.inputs = inputs
        self.units = units
        self.projection = projection
    }

    /// (in + p)·4n + 4n + 3n + n·p.
    public var parameterCount: Int {
        (inputs + projection) * 4 * units + 4 * units + 3 * units + units * projection
    }

    public struct Cache: Sendable {
        let batch: Int, steps: Int
        // Per step, [T, B, n]: gates after their nonlinearity, the cell state and its tanh.
        var ig: [Float], jt: [Float], fg: [Float], og: [Float], c: [Float], tc: [Float]
        /// m_t for every step, [B, T, p] (the layer's output).
        public var outputs: [Float]
        /// c_t for every step, [B, T, n] (the alternative context representation).
        public var cells: [Float]
    }

    /// `kernel` W [(in + p), 4n], `bias` [4n], `peepholes` [3n], `projectionMatrix` P [n, p].
    public func forward(
        _ x: UnsafePointer<Float>, batch b: Int, steps t: Int, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        peepholes: UnsafePointer<Float>, projectionMatrix: UnsafePointer<Float>
    ) -> Cache {
        let n = units, p = projection, g = 4 * units
        let xw = inputProjection(x, rows: b * t, kernel: kernel, bias: bias)
        let wm = kernel + inputs * g
        let size = t * b * n
        var cache = Cache(
            batch: b, steps: t, ig: .init(repeating: 0, count: size), jt: .init(repeating: 0, count: size),
            fg: .init(repeating: 0, count: size), og: .init(repeating: 0, count: size),
            c: .init(repeating: 0, count: size), tc: .init(repeating: 0, count: size),
            outputs: .init(repeating: 0, count: b * t * p), cells: .init(repeating: 0, count: b * t * n))
        var m = [Float](repeating: 0, count: b * p), c = [Float](repeating: 0, count: b * n)
        var a = [Float](repeating: 0, count: b * g), mraw = [Float](repeating: 0, count: b * n)
        for step in 0..<t {
            for i in 0..<b { for j in 0..<g { a[i * g + j] = xw[(i * t + step) * g + j] } }
            a.withUnsafeMutableBufferPointer { q in
                BLAS.gemm(m: b, n: g, k: p, a: m, lda: p, b: wm, ldb: g, beta: 1, c: q.baseAddress!, ldc: g)
            }
            for i in 0..<b {
                for k in 0..<n {
                    let prev = c[i * n + k]
                    let ig = fastSigmoid(a[i * g + k] + peepholes[k] * prev)
                    let jt = fastTanh(a[i * g + n + k])
                    let fg = fastSigmoid(a[i * g + 2 * n + k] + 1 + peepholes[n + k] * prev)
                    let ct = fg * prev + ig * jt
                    let og = fastSigmoid(a[i * g + 3 * n + k] + peepholes[2 * n + k] * ct)
                    let tc = fastTanh(ct)
                    let at = (step * b + i) * n + k
                    cache.ig[at] = ig
                    cache.jt[at] = jt
                    cache.fg[at] = fg
                    cache.og[at] = og
                    cache.c[at] = ct
                    cache.tc[at] = tc
                    c[i * n + k] = ct
                    cache.cells[(i * t + step) * n + k] = ct
                    mraw[i * n + k] = og * tc
                }
            }
            m.withUnsafeMutableBufferPointer { q in
                BLAS.gemm(m: b, n: p, k: n, a: mraw, lda: n, b: projectionMatrix, ldb: p, c: q.baseAddress!, ldc: p)
            }
            for i in 0..<b { for j in 0..<p { cache.outputs[(i * t + step) * p + j] = m[i * p + j] } }
        }
        return cache
    }

    /// x · W_x + b for every step at once, [B·T, 4n] (the recurrent part is added step by step).
    func inputProjection(
        _ x: UnsafePointer<Float>, rows: Int, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>
    ) -> [Float] {
        let g = 4 * units
        var xw = [Float](repeating: 0, count: rows * g)
        xw.withUnsafeMutableBufferPointer { q in
            for row in 0..<rows { (q.baseAddress! + row * g).update(from: bias, count: g) }
            BLAS.gemm(
                m: rows, n: g, k: inputs, a: x, lda: inputs, b: kernel, ldb: g, beta: 1, c: q.baseAddress!, ldc: g)
        }
        return xw
    }

    /// m_t for every step, [B, T, p], without what backward needs: the same arithmetic as `forward` (the same
    /// bits), the gates eight lanes at a time (inference: evaluation, export checks, `tkd detect`).
    public func infer(
        _ x: UnsafePointer<Float>, batch b: Int, steps t: Int, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        peepholes: UnsafePointer<Float>, projectionMatrix: UnsafePointer<Float>
    ) -> [Float] {
        let n = units, p = projection, g = 4 * units
        let xw = inputProjection(x, rows: b * t, kernel: kernel, bias: bias)
        let wm = kernel + inputs * g
        var outputs = [Float](repeating: 0, count: b * t * p)
        var m = [Float](repeating: 0, count: b * p), c = [Float](repeating: 0, count: b * n)
        var a = [Float](repeating: 0, count: b * g), mraw = [Float](repeating: 0, count: b * n)
        let wi = peepholes, wf = peepholes + n, wo = peepholes + 2 * n
        @inline(__always) func load(_ q: UnsafePointer<Float>) -> SIMD8<Float> {
            UnsafeRawPointer(q).loadUnaligned(as: SIMD8<Float>.self)
        }
        @inline(__always) func store(_ v: SIMD8<Float>, _ q: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(q).storeBytes(of: v, as: SIMD8<Float>.self)
        }
        xw.withUnsafeBufferPointer { xwp in
            a.withUnsafeMutableBufferPointer { ap in
                c.withUnsafeMutableBufferPointer { cp in
                    mraw.withUnsafeMutableBufferPointer { mp in
                        m.withUnsafeMutableBufferPointer { mmp in
                            outputs.withUnsafeMutableBufferPointer { op in
                                for step in 0..<t {
                                    for i in 0..<b {
                                        (ap.baseAddress! + i * g).update(
                                            from: xwp.baseAddress! + (i * t + step) * g, count: g)
                                    }
                                    BLAS.gemm(
                                        m: b, n: g, k: p, a: mmp.baseAddress!, lda: p, b: wm, ldb: g, beta: 1,
                                        c: ap.baseAddress!, ldc: g)
                                    for i in 0..<b {
                                        let ai = ap.baseAddress! + i * g, ci = cp.baseAddress! + i * n
                                        let mi = mp.baseAddress! + i * n
                                        var k = 0
                                        let one = SIMD8<Float>(repeating: 1), two = SIMD8<Float>(repeating: 2)
                                        while k + 8 <= n {
                                            let prev = load(ci + k)
                                            let ig = one / (one + fastExp(-(load(ai + k) + load(wi + k) * prev)))
                                            let sj = load(ai + n + k)
                                            let jt = one - two / (one + fastExp(sj + sj))
                                            let fg =
                                                one
                                                / (one + fastExp(-(load(ai + 2 * n + k) + one + load(wf + k) * prev)))
                                            let ct = fg * prev + ig * jt
                                            let og = one / (one + fastExp(-(load(ai + 3 * n + k) + load(wo + k) * ct)))
                                            let tc = one - two / (one + fastExp(ct + ct))
                                            store(ct, ci + k)
                                            store(og * tc, mi + k)
                                            k += 8
                                        }
                                        while k < n {
                                            let prev = ci[k]
                                            let ig = fastSigmoid(ai[k] + wi[k] * prev)
                                            let jt = fastTanh(ai[n + k])
                                            let fg = fastSigmoid(ai[2 * n + k] + 1 + wf[k] * prev)
                                            let ct = fg * prev + ig * jt
                                            let og = fastSigmoid(ai[3 * n + k] + wo[k] * ct)
                                            ci[k] = ct
                                            mi[k] = og * fastTanh(ct)
                                            k += 1
                                        }
                                    }
                                    BLAS.gemm(
                                        m: b, n: p, k: n, a: mp.baseAddress!, lda: n, b: projectionMatrix, ldb: p,
                                        c: mmp.baseAddress!, ldc: p)
                                    for i in 0..<b {
                                        (op.baseAddress! + (i * t + step) * p).update(
                                            from: mmp.baseAddress! + i * p, count: p)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return outputs
    }

    /// Gradients from dLoss/dm_t for every step (`dOut` [B, T, p]); accumulates (+=) into the
    /// parameter gradients and writes dx [B, T, in].
    public func backward(
        _ cache: Cache, input x: UnsafePointer<Float>, outputGradient dOut: UnsafePointer<Float>,
        kernel: UnsafePointer<Float>, peepholes: UnsafePointer<Float>, projectionMatrix: UnsafePointer<Float>,
        kernelGradient dW: UnsafeMutablePointer<Float>, biasGradient dB: UnsafeMutablePointer<Float>,
        peepholeGradient dPeep: UnsafeMutablePointer<Float>, projectionGradient dP: UnsafeMutablePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>
    ) {
        let b = cache.batch, t = cache.steps, n = units, p = projection, g = 4 * units
        let wm = kernel + inputs * g, dWm = dW + inputs * g
        var da = [Float](repeating: 0, count: b * t * g)  // gate pre-activation gradients, all steps
        var dm = [Float](repeating: 0, count: b * p), dmNext = [Float](repeating: 0, count: b * p)
        var dcNext = [Float](repeating: 0, count: b * n), dmraw = [Float](repeating: 0, count: b * n)
        var mraw = [Float](repeating: 0, count: b * n), mPrev = [Float](repeating: 0, count: b * p)
        var daStep = [Float](repeating: 0, count: b * g)
        for step in stride(from: t - 1, through: 0, by: -1) {
            for i in 0..<b {
                for j in 0..<p {
                    dm[i * p + j] = dOut[(i * t + step) * p + j] + dmNext[i * p + j]
                    mPrev[i * p + j] = step > 0 ? cache.outputs[(i * t + step - 1) * p + j] : 0
                }
                for k in 0..<n {
                    let at = (step * b + i) * n + k
                    mraw[i * n + k] = cache.og[at] * cache.tc[at]
                }
            }
            // m = mraw · P: dP += mrawᵀ · dm; dmraw = dm · Pᵀ.
            BLAS.gemm(transA: true, m: n, n: p, k: b, a: mraw, lda: n, b: dm, ldb: p, beta: 1, c: dP, ldc: p)
            dmraw.withUnsafeMutableBufferPointer { q in
                BLAS.gemm(
                    transB: true, m: b, n: n, k: p, a: dm, lda: p, b: projectionMatrix, ldb: p, c: q.baseAddress!,
                    ldc: n)
            }
            for i in 0..<b {
                for k in 0..<n {
                    let at = (step * b + i) * n + k
                    let ig = cache.ig[at], jt = cache.jt[at], fg = cache.fg[at], og = cache.og[at], ct = cache.c[at],
                        tc = cache.tc[at]
                    let prev = step > 0 ? cache.c[((step - 1) * b + i) * n + k] : 0
                    let dao = dmraw[i * n + k] * tc * og * (1 - og)
                    var dc = dmraw[i * n + k] * og * (1 - tc * tc) + dcNext[i * n + k] + dao * peepholes[2 * n + k]
                    let dai = dc * jt * ig * (1 - ig)
                    let daj = dc * ig * (1 - jt * jt)
                    let daf = dc * prev * fg * (1 - fg)
                    dPeep[k] += dai * prev
                    dPeep[n + k] += daf * prev
                    dPeep[2 * n + k] += dao * ct
                    dc = dc * fg + daf * peepholes[n + k] + dai * peepholes[k]
                    dcNext[i * n + k] = dc
                    let row = (i * t + step) * g
                    da[row + k] = dai
                    da[row + n + k] = daj
                    da[row + 2 * n + k] = daf
                    da[row + 3 * n + k] = dao
                    daStep[i * g + k] = dai
                    daStep[i * g + n + k] = daj
                    daStep[i * g + 2 * n + k] = daf
                    daStep[i * g + 3 * n + k] = dao
                }
            }
            // Recurrent side: dWm += m_{t−1}ᵀ · da; dm_{t−1} = da · Wmᵀ.
            BLAS.gemm(transA: true, m: p, n: g, k: b, a: mPrev, lda: p, b: daStep, ldb: g, beta: 1, c: dWm, ldc: g)
            dmNext.withUnsafeMutableBufferPointer { q in
                BLAS.gemm(transB: true, m: b, n: p, k: g, a: daStep, lda: g, b: wm, ldb: g, c: q.baseAddress!, ldc: p)
            }
        }
        BLAS.gemm(transA: true, m: inputs, n: g, k: b * t, a: x, lda: inputs, b: da, ldb: g, beta: 1, c: dW, ldc: g)
        for row in 0..<(b * t) { for j in 0..<g { dB[j] += da[row * g + j] } }
        BLAS.gemm(transB: true, m: b * t, n: inputs, k: g, a: da, lda: g, b: kernel, ldb: g, c: dx, ldc: inputs)
    }
}
