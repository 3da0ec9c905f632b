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
        let size = t * b * units
        var cache = Cache(
            batch: b, steps: t, ig: .init(repeating: 0, count: size), jt: .init(repeating: 0, count: size),
            fg: .init(repeating: 0, count: size), og: .init(repeating: 0, count: size),
            c: .init(repeating: 0, count: size), tc: .init(repeating: 0, count: size),
            outputs: .init(repeating: 0, count: b * t * projection), cells: .init(repeating: 0, count: b * t * units))
        cache.ig.withUnsafeMutableBufferPointer { ig in
            cache.jt.withUnsafeMutableBufferPointer { jt in
                cache.fg.withUnsafeMutableBufferPointer { fg in
                    cache.og.withUnsafeMutableBufferPointer { og in
                        cache.c.withUnsafeMutableBufferPointer { c in
                            cache.tc.withUnsafeMutableBufferPointer { tc in
                                cache.cells.withUnsafeMutableBufferPointer { cells in
                                    cache.outputs.withUnsafeMutableBufferPointer { out in
                                        let saved = Saved(
                                            ig: ig.baseAddress!, jt: jt.baseAddress!, fg: fg.baseAddress!,
                                            og: og.baseAddress!, c: c.baseAddress!, tc: tc.baseAddress!,
                                            cells: cells.baseAddress!)
                                        run(
                                            x, batch: b, steps: t, kernel: kernel, bias: bias, peepholes: peepholes,
                                            projectionMatrix: projectionMatrix, outputs: out.baseAddress!,
                                            saved: saved)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return cache
    }

    /// Where `run` keeps what backward needs: the gates, c_t and tanh c_t [T, B, n], c_t again [B, T, n].
    struct Saved {
        let ig: UnsafeMutablePointer<Float>, jt: UnsafeMutablePointer<Float>, fg: UnsafeMutablePointer<Float>
        let og: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, tc: UnsafeMutablePointer<Float>
        let cells: UnsafeMutablePointer<Float>
    }

    /// The recurrence over every step, writing m_t to `outputs` [B, T, p] and, when `saved` is given, what
    /// backward needs. The gates eight lanes at a time with a scalar tail, one arithmetic for training and
    /// inference (the same bits either way).
    func run(
        _ x: UnsafePointer<Float>, batch b: Int, steps t: Int, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        peepholes: UnsafePointer<Float>, projectionMatrix: UnsafePointer<Float>, outputs: UnsafeMutablePointer<Float>,
        saved: Saved?
    ) {
        let n = units, p = projection, g = 4 * units
        let xw = inputProjection(x, rows: b * t, kernel: kernel, bias: bias)
        let wm = kernel + inputs * g
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
                                    let at = (step * b + i) * n, cellAt = (i * t + step) * n
                                    var k = 0
                                    let one = SIMD8<Float>(repeating: 1), two = SIMD8<Float>(repeating: 2)
                                    while k + 8 <= n {
                                        let prev = load(ci + k)
                                        let ig = one / (one + fastExp(-(load(ai + k) + load(wi + k) * prev)))
                                        let sj = load(ai + n + k)
                                        let jt = one - two / (one + fastExp(sj + sj))
                                        let fg =
                                            one / (one + fastExp(-(load(ai + 2 * n + k) + one + load(wf + k) * prev)))
                                        let ct = fg * prev + ig * jt
                                        let og = one / (one + fastExp(-(load(ai + 3 * n + k) + load(wo + k) * ct)))
                                        let tc = one - two / (one + fastExp(ct + ct))
                                        store(ct, ci + k)
                                        store(og * tc, mi + k)
                                        if let s = saved {
                                            store(ig, s.ig + at + k)
                                            store(jt, s.jt + at + k)
                                            store(fg, s.fg + at + k)
                                            store(og, s.og + at + k)
                                            store(ct, s.c + at + k)
                                            store(tc, s.tc + at + k)
                                            store(ct, s.cells + cellAt + k)
                                        }
                                        k += 8
                                    }
                                    while k < n {
                                        let prev = ci[k]
                                        let ig = fastSigmoid(ai[k] + wi[k] * prev)
                                        let jt = fastTanh(ai[n + k])
                                        let fg = fastSigmoid(ai[2 * n + k] + 1 + wf[k] * prev)
                                        let ct = fg * prev + ig * jt
                                        let og = fastSigmoid(ai[3 * n + k] + wo[k] * ct)
                                        let tc = fastTanh(ct)
                                        ci[k] = ct
                                        mi[k] = og * tc
                                        if let s = saved {
                                            s.ig[at + k] = ig
                                            s.jt[at + k] = jt
                                            s.fg[at + k] = fg
                                            s.og[at + k] = og
                                            s.c[at + k] = ct
                                            s.tc[at + k] = tc
                                            s.cells[cellAt + k] = ct
                                        }
                                        k += 1
                                    }
                                }
                                BLAS.gemm(
                                    m: b, n: p, k: n, a: mp.baseAddress!, lda: n, b: projectionMatrix, ldb: p,
                                    c: mmp.baseAddress!, ldc: p)
                                for i in 0..<b {
                                    (outputs + (i * t + step) * p).update(from: mmp.baseAddress! + i * p, count: p)
                                }
                            }
                        }
                    }
                }
            }
        }
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

    /// m_t for every step, [B, T, p], without what backward needs: `forward`'s arithmetic (the same bits;
    /// inference: evaluation, export checks, `tkd detect`).
    public func infer(
        _ x: UnsafePointer<Float>, batch b: Int, steps t: Int, kernel: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        peepholes: UnsafePointer<Float>, projectionMatrix: UnsafePointer<Float>
    ) -> [Float] {
        var outputs = [Float](repeating: 0, count: b * t * projection)
        outputs.withUnsafeMutableBufferPointer { out in
            run(
                x, batch: b, steps: t, kernel: kernel, bias: bias, peepholes: peepholes,
                projectionMatrix: projectionMatrix, outputs: out.baseAddress!, saved: nil)
        }
        return outputs
    }

    /// Gradients from dLoss/dm_t for every step (`dOut` [B, T, p]); accumulates (+=) into the
    /// parameter gradients and writes dx [B, T, in]. The gate gradients eight lanes at a time with a scalar
    /// tail, each lane the scalar expression in the same order (the same bits as one lane at a time).
    public func backward(
        _ cache: Cache, input x: UnsafePointer<Float>, outputGradient dOut: UnsafePointer<Float>,
        kernel: UnsafePointer<Float>, peepholes: UnsafePointer<Float>, projectionMatrix: UnsafePointer<Float>,
        kernelGradient dW: UnsafeMutablePointer<Float>, biasGradient dB: UnsafeMutablePointer<Float>,
        peepholeGradient dPeep: UnsafeMutablePointer<Float>, projectionGradient dP: UnsafeMutablePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>
    ) {
        let b = cache.batch, t = cache.steps, n = units, p = projection, g = 4 * units
        guard b > 0, t > 0 else { return }
        let wm = kernel + inputs * g, dWm = dW + inputs * g
        // Working buffers, zeroed: gate pre-activation gradients for all steps [B, T, 4n] and per step.
        let scratch = Scratch(sizes: [b * t * g, b * p, b * p, b * n, b * n, b * n, b * p, b * g])
        defer { scratch.free() }
        let da = scratch[0], dm = scratch[1], dmNext = scratch[2], dcNext = scratch[3]
        let dmraw = scratch[4], mraw = scratch[5], mPrev = scratch[6], daStep = scratch[7]
        let pi = peepholes, pf = peepholes + n, po = peepholes + 2 * n
        Self.withBases([cache.ig, cache.jt, cache.fg, cache.og, cache.c, cache.tc, cache.outputs]) { s in
            let cig = s[0], cjt = s[1], cfg = s[2], cog = s[3], cc = s[4], ctc = s[5], outs = s[6]
            for step in stride(from: t - 1, through: 0, by: -1) {
                for i in 0..<b {
                    for j in 0..<p {
                        dm[i * p + j] = dOut[(i * t + step) * p + j] + dmNext[i * p + j]
                        mPrev[i * p + j] = step > 0 ? outs[(i * t + step - 1) * p + j] : 0
                    }
                    let at = (step * b + i) * n
                    for k in 0..<n { mraw[i * n + k] = cog[at + k] * ctc[at + k] }
                }
                // m = mraw · P: dP += mrawᵀ · dm; dmraw = dm · Pᵀ.
                BLAS.gemm(transA: true, m: n, n: p, k: b, a: mraw, lda: n, b: dm, ldb: p, beta: 1, c: dP, ldc: p)
                BLAS.gemm(
                    transB: true, m: b, n: n, k: p, a: dm, lda: p, b: projectionMatrix, ldb: p, c: dmraw, ldc: n)
                for i in 0..<b {
                    let at = (step * b + i) * n, before = ((step - 1) * b + i) * n
                    let row = da + (i * t + step) * g, now = daStep + i * g
                    let dmr = dmraw + i * n, dcn = dcNext + i * n
                    var k = 0
                    let one = SIMD8<Float>(repeating: 1)
                    while k + 8 <= n {
                        let ig = Self.load(cig + at + k), jt = Self.load(cjt + at + k), fg = Self.load(cfg + at + k)
                        let og = Self.load(cog + at + k), ct = Self.load(cc + at + k), tc = Self.load(ctc + at + k)
                        let prev = step > 0 ? Self.load(cc + before + k) : SIMD8<Float>()
                        let r = Self.load(dmr + k)
                        let dao = r * tc * og * (one - og)
                        var dc = r * og * (one - tc * tc) + Self.load(dcn + k) + dao * Self.load(po + k)
                        let dai = dc * jt * ig * (one - ig)
                        let daj = dc * ig * (one - jt * jt)
                        let daf = dc * prev * fg * (one - fg)
                        Self.store(Self.load(dPeep + k) + dai * prev, dPeep + k)
                        Self.store(Self.load(dPeep + n + k) + daf * prev, dPeep + n + k)
                        Self.store(Self.load(dPeep + 2 * n + k) + dao * ct, dPeep + 2 * n + k)
                        dc = dc * fg + daf * Self.load(pf + k) + dai * Self.load(pi + k)
                        Self.store(dc, dcn + k)
                        Self.store(dai, row + k)
                        Self.store(daj, row + n + k)
                        Self.store(daf, row + 2 * n + k)
                        Self.store(dao, row + 3 * n + k)
                        Self.store(dai, now + k)
                        Self.store(daj, now + n + k)
                        Self.store(daf, now + 2 * n + k)
                        Self.store(dao, now + 3 * n + k)
                        k += 8
                    }
                    while k < n {
                        let ig = cig[at + k], jt = cjt[at + k], fg = cfg[at + k], og = cog[at + k], ct = cc[at + k]
                        let tc = ctc[at + k]
                        let prev = step > 0 ? cc[before + k] : 0
                        let dao = dmr[k] * tc * og * (1 - og)
                        var dc = dmr[k] * og * (1 - tc * tc) + dcn[k] + dao * po[k]
                        let dai = dc * jt * ig * (1 - ig)
                        let daj = dc * ig * (1 - jt * jt)
                        let daf = dc * prev * fg * (1 - fg)
                        dPeep[k] += dai * prev
                        dPeep[n + k] += daf * prev
                        dPeep[2 * n + k] += dao * ct
                        dc = dc * fg + daf * pf[k] + dai * pi[k]
                        dcn[k] = dc
                        row[k] = dai
                        row[n + k] = daj
                        row[2 * n + k] = daf
                        row[3 * n + k] = dao
                        now[k] = dai
                        now[n + k] = daj
                        now[2 * n + k] = daf
                        now[3 * n + k] = dao
                        k += 1
                    }
                }
                // Recurrent side: dWm += m_{t−1}ᵀ · da; dm_{t−1} = da · Wmᵀ.
                BLAS.gemm(transA: true, m: p, n: g, k: b, a: mPrev, lda: p, b: daStep, ldb: g, beta: 1, c: dWm, ldc: g)
                BLAS.gemm(transB: true, m: b, n: p, k: g, a: daStep, lda: g, b: wm, ldb: g, c: dmNext, ldc: p)
            }
        }
        BLAS.gemm(transA: true, m: inputs, n: g, k: b * t, a: x, lda: inputs, b: da, ldb: g, beta: 1, c: dW, ldc: g)
        for row in 0..<(b * t) { Vector.add(da + row * g, into: dB, count: g) }
        BLAS.gemm(transB: true, m: b * t, n: inputs, k: g, a: da, lda: g, b: kernel, ldb: g, c: dx, ldc: inputs)
    }

    @inline(__always) static func load(_ q: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(q).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func store(_ v: SIMD8<Float>, _ q: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(q).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// The base addresses of non-empty arrays, valid inside `body`.
    static func withBases<R>(_ arrays: [[Float]], _ body: ([UnsafePointer<Float>]) -> R) -> R {
        var bases: [UnsafePointer<Float>] = []
        func nest(_ i: Int) -> R {
            if i == arrays.count { return body(bases) }
            return arrays[i].withUnsafeBufferPointer {
                bases.append($0.baseAddress!)
                return nest(i + 1)
            }
        }
        return nest(0)
    }

    /// Zeroed float buffers of the given sizes, freed by `free()`.
    struct Scratch {
        let buffers: [UnsafeMutablePointer<Float>]
        init(sizes: [Int]) {
            buffers = sizes.map {
                let q = UnsafeMutablePointer<Float>.allocate(capacity: max(1, $0))
                q.initialize(repeating: 0, count: max(1, $0))
                return q
            }
        }
        subscript(_ i: Int) -> UnsafeMutablePointer<Float> { buffers[i] }
        func free() { for q in buffers { q.deallocate() } }
    }
}
