import Foundation

/// Keras GRU with `reset_after=True` (TF2's default; Docs/students.md §4), over a batch of sequences,
/// forward and backward through time.
///
/// Weights: kernel W [in, 3u], recurrent kernel U [u, 3u], bias [2, 3u] (input bias, recurrent bias),
/// gate order z, r, h:
///
///     z = σ(x W_z + b_z + h U_z + b'_z)
///     r = σ(x W_r + b_r + h U_r + b'_r)
///     ĥ = tanh(x W_h + b_h + r ⊙ (h U_h + b'_h))
///     h_t = z ⊙ h_{t−1} + (1 − z) ⊙ ĥ,   h_0 = 0
///
/// Tensors are batch-major and row-major: x [B, T, in], h [B, T, u].
public struct GRU: Sendable, Equatable {
    public let inputs: Int
    public let units: Int

    public init(inputs: Int, units: Int) {
        precondition(inputs > 0 && units > 0, "GRU sizes must be positive")
        self.inputs = inputs
        self.units = units
    }

    /// 3·(in·u + u·u + 2u).
    public var parameterCount: Int { 3 * (inputs * units + units * units + 2 * units) }

    /// What forward keeps for backward.
    public struct Cache: Sendable {
        let batch: Int, steps: Int
        var z: [Float], r: [Float], candidate: [Float], recurrentH: [Float]  // each [T, B, u]
        /// h_t for every step, [B, T, u].
        public var outputs: [Float]
    }

    /// h for every step. `kernel` [in, 3u], `recurrent` [u, 3u], `bias` [2·3u]. `reverse` runs the
    /// recurrence from the last step to the first (the backward half of a bidirectional layer); outputs
    /// stay at their own step.
    public func forward(
        _ x: UnsafePointer<Float>, batch b: Int, steps t: Int, kernel: UnsafePointer<Float>,
        recurrent: UnsafePointer<Float>, bias: UnsafePointer<Float>, reverse: Bool = false
    ) -> Cache {
        let u = units, g = 3 * units
        // Input projections of every step at once: [B·T, 3u] = x [B·T, in] · W + b_input.
        var xw = uninitializedFloats(b * t * g)
        xw.withUnsafeMutableBufferPointer { p in
            for row in 0..<(b * t) { (p.baseAddress! + row * g).update(from: bias, count: g) }
            BLAS.gemm(
                m: b * t, n: g, k: inputs, a: x, lda: inputs, b: kernel, ldb: g, beta: 1, c: p.baseAddress!, ldc: g)
        }
        var cache = Cache(
            batch: b, steps: t, z: uninitializedFloats(t * b * u), r: uninitializedFloats(t * b * u),
            candidate: uninitializedFloats(t * b * u), recurrentH: uninitializedFloats(t * b * u),
            outputs: uninitializedFloats(b * t * u))
        var h = [Float](repeating: 0, count: b * u)
        var hu = [Float](repeating: 0, count: b * g)
        cache.z.withUnsafeMutableBufferPointer { zs in
            cache.r.withUnsafeMutableBufferPointer { rs in
                cache.candidate.withUnsafeMutableBufferPointer { cs in
                    cache.recurrentH.withUnsafeMutableBufferPointer { rhs in
                        cache.outputs.withUnsafeMutableBufferPointer { outs in
                            xw.withUnsafeBufferPointer { xwp in
                                h.withUnsafeMutableBufferPointer { hp in
                                    hu.withUnsafeMutableBufferPointer { hup in
                                        let hb = hp.baseAddress!, hub = hup.baseAddress!
                                        for n in 0..<t {
                                            let step = reverse ? t - 1 - n : n
                                            for i in 0..<b { (hub + i * g).update(from: bias + g, count: g) }
                                            BLAS.gemm(
                                                m: b, n: g, k: u, a: hb, lda: u, b: recurrent, ldb: g, beta: 1, c: hub,
                                                ldc: g)
                                            for i in 0..<b {
                                                let x = xwp.baseAddress! + (i * t + step) * g, hr = hub + i * g,
                                                    hi = hb + i * u
                                                let at = (step * b + i) * u
                                                let z = zs.baseAddress! + at, r = rs.baseAddress! + at,
                                                    c = cs.baseAddress! + at, rh = rhs.baseAddress! + at
                                                let out = outs.baseAddress! + (i * t + step) * u
                                                // Separate simple loops (few pointers each) so that the compiler
                                                // vectorises them.
                                                Vector.sigmoidOfSum(x, hr, into: z, count: u)
                                                Vector.sigmoidOfSum(x + u, hr + u, into: r, count: u)
                                                rh.update(from: hr + 2 * u, count: u)
                                                Vector.tanhOfSumProduct(x + 2 * u, r, rh, into: c, count: u)
                                                for k in 0..<u { hi[k] = z[k] * hi[k] + (1 - z[k]) * c[k] }
                                                out.update(from: hi, count: u)
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
        return cache
    }

    /// Gradients: `dOut` holds dLoss/dh_t for every step (zeros where only some steps are used), row
    /// (example i, step s) at `(i·T + s)·outputStride` (default u). Accumulates (+=) into dW, dU, dBias;
    /// writes dx [B, T, in], or adds to it with `accumulateInput`. `reverse` as in `forward`.
    public func backward(
        _ cache: Cache, input x: UnsafePointer<Float>, outputGradient dOut: UnsafePointer<Float>,
        outputStride: Int? = nil, kernel: UnsafePointer<Float>, recurrent: UnsafePointer<Float>,
        kernelGradient dW: UnsafeMutablePointer<Float>, recurrentGradient dU: UnsafeMutablePointer<Float>,
        biasGradient dB: UnsafeMutablePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>,
        accumulateInput: Bool = false, reverse: Bool = false
    ) {
        let stride = outputStride ?? units
        let b = cache.batch, t = cache.steps, u = units, g = 3 * units
        var dxw = uninitializedFloats(b * t * g)  // pre-activation gradients of the input side
        var dhu = [Float](repeating: 0, count: b * g)  // … and of the recurrent side, one step
        var dhNext = [Float](repeating: 0, count: b * u)
        var hPrev = [Float](repeating: 0, count: b * u)
        cache.z.withUnsafeBufferPointer { zs in
            cache.r.withUnsafeBufferPointer { rs in
                cache.candidate.withUnsafeBufferPointer { cs in
                    cache.recurrentH.withUnsafeBufferPointer { rhs in
                        cache.outputs.withUnsafeBufferPointer { outs in
                            dxw.withUnsafeMutableBufferPointer { dxwp in
                                dhu.withUnsafeMutableBufferPointer { dhup in
                                    dhNext.withUnsafeMutableBufferPointer { dhn in
                                        hPrev.withUnsafeMutableBufferPointer { hpp in
                                            for n in Swift.stride(from: t - 1, through: 0, by: -1) {
                                                // Steps in the opposite order of the forward pass; h_prev is the state
                                                // the step started from.
                                                let step = reverse ? t - 1 - n : n,
                                                    before = reverse ? step + 1 : step - 1
                                                for i in 0..<b {
                                                    let at = (step * b + i) * u
                                                    let z = zs.baseAddress! + at, r = rs.baseAddress! + at,
                                                        c = cs.baseAddress! + at, rh = rhs.baseAddress! + at
                                                    let prev = hpp.baseAddress! + i * u, dn = dhn.baseAddress! + i * u
                                                    if n > 0 {
                                                        prev.update(
                                                            from: outs.baseAddress! + (i * t + before) * u, count: u)
                                                    } else {
                                                        prev.update(repeating: 0, count: u)
                                                    }
                                                    let dO = dOut + (i * t + step) * stride
                                                    let dx = dxwp.baseAddress! + (i * t + step) * g,
                                                        dr = dhup.baseAddress! + i * g
                                                    Vector.gruGates(
                                                        dOut: dO, dNext: dn, previous: prev, z: z, r: r, c: c, rh: rh,
                                                        dx: dx, dRec: dr, count: u)
                                                }
                                                // dU += h_{t−1}ᵀ · dhu; db' += Σ dhu; dh_{t−1} += dhu · Uᵀ
                                                BLAS.gemm(
                                                    transA: true, m: u, n: g, k: b, a: hpp.baseAddress!, lda: u,
                                                    b: dhup.baseAddress!, ldb: g, beta: 1, c: dU, ldc: g)
                                                for i in 0..<b {
                                                    let d = dhup.baseAddress! + i * g
                                                    for j in 0..<g { dB[g + j] += d[j] }
                                                }
                                                BLAS.gemm(
                                                    transB: true, m: b, n: u, k: g, a: dhup.baseAddress!, lda: g,
                                                    b: recurrent, ldb: g, beta: 1, c: dhn.baseAddress!, ldc: u)
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
        // Input side for all steps at once.
        BLAS.gemm(transA: true, m: inputs, n: g, k: b * t, a: x, lda: inputs, b: dxw, ldb: g, beta: 1, c: dW, ldc: g)
        dxw.withUnsafeBufferPointer { d in
            for row in 0..<(b * t) {
                let r = d.baseAddress! + row * g
                for j in 0..<g { dB[j] += r[j] }
            }
        }
        BLAS.gemm(
            transB: true, m: b * t, n: inputs, k: g, a: dxw, lda: g, b: kernel, ldb: g, beta: accumulateInput ? 1 : 0,
            c: dx, ldc: inputs)
    }
}
