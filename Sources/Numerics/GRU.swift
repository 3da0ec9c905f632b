import Foundation

/// Keras GRU with `reset_after=True` (TF2's default; STUDENTS.md §4), over a batch of sequences,
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
        var z: [Float], r: [Float], candidate: [Float], recurrentH: [Float]   // each [T, B, u]
        /// h_t for every step, [B, T, u].
        public var outputs: [Float]
    }

    /// h for every step. `kernel` [in, 3u], `recurrent` [u, 3u], `bias` [2·3u].
    public func forward(_ x: UnsafePointer<Float>, batch b: Int, steps t: Int, kernel: UnsafePointer<Float>,
                        recurrent: UnsafePointer<Float>, bias: UnsafePointer<Float>) -> Cache {
        let u = units, g = 3 * units
        // Input projections of every step at once: [B·T, 3u] = x [B·T, in] · W + b_input.
        var xw = [Float](repeating: 0, count: b * t * g)
        xw.withUnsafeMutableBufferPointer { p in
            for row in 0..<(b * t) { (p.baseAddress! + row * g).update(from: bias, count: g) }
            BLAS.gemm(m: b * t, n: g, k: inputs, a: x, lda: inputs, b: kernel, ldb: g, beta: 1, c: p.baseAddress!, ldc: g)
        }
        var cache = Cache(batch: b, steps: t, z: .init(repeating: 0, count: t * b * u), r: .init(repeating: 0, count: t * b * u),
                          candidate: .init(repeating: 0, count: t * b * u), recurrentH: .init(repeating: 0, count: t * b * u),
                          outputs: .init(repeating: 0, count: b * t * u))
        var h = [Float](repeating: 0, count: b * u)
        var hu = [Float](repeating: 0, count: b * g)
        for step in 0..<t {
            hu.withUnsafeMutableBufferPointer { p in
                for i in 0..<b { (p.baseAddress! + i * g).update(from: bias + g, count: g) }
                BLAS.gemm(m: b, n: g, k: u, a: h, lda: u, b: recurrent, ldb: g, beta: 1, c: p.baseAddress!, ldc: g)
            }
            for i in 0..<b {
                let xr = (i * t + step) * g
                for k in 0..<u {
                    let z = sigmoid(xw[xr + k] + hu[i * g + k])
                    let r = sigmoid(xw[xr + u + k] + hu[i * g + u + k])
                    let rh = hu[i * g + 2 * u + k]
                    let c = tanh(xw[xr + 2 * u + k] + r * rh)
                    let at = (step * b + i) * u + k
                    cache.z[at] = z; cache.r[at] = r; cache.candidate[at] = c; cache.recurrentH[at] = rh
                    h[i * u + k] = z * h[i * u + k] + (1 - z) * c
                    cache.outputs[(i * t + step) * u + k] = h[i * u + k]
                }
            }
        }
        return cache
    }

    /// Gradients: `dOutputs` [B, T, u] is dLoss/dh_t for every step (zeros where only some steps are
    /// used). Accumulates (+=) into dW, dU, dBias; writes dx [B, T, in].
    public func backward(_ cache: Cache, input x: UnsafePointer<Float>, outputGradient dOut: UnsafePointer<Float>,
                         kernel: UnsafePointer<Float>, recurrent: UnsafePointer<Float>,
                         kernelGradient dW: UnsafeMutablePointer<Float>, recurrentGradient dU: UnsafeMutablePointer<Float>,
                         biasGradient dB: UnsafeMutablePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>) {
        let b = cache.batch, t = cache.steps, u = units, g = 3 * units
        var dxw = [Float](repeating: 0, count: b * t * g)      // pre-activation gradients of the input side
        var dhu = [Float](repeating: 0, count: b * g)           // … and of the recurrent side, one step
        var dhNext = [Float](repeating: 0, count: b * u)
        var hPrev = [Float](repeating: 0, count: b * u)
        for step in stride(from: t - 1, through: 0, by: -1) {
            for i in 0..<b {
                for k in 0..<u {
                    let at = (step * b + i) * u + k
                    let z = cache.z[at], r = cache.r[at], c = cache.candidate[at], rh = cache.recurrentH[at]
                    let prev = step > 0 ? cache.outputs[(i * t + step - 1) * u + k] : 0
                    hPrev[i * u + k] = prev
                    let dh = dOut[(i * t + step) * u + k] + dhNext[i * u + k]
                    let dAz = dh * (prev - c) * z * (1 - z)
                    let dAc = dh * (1 - z) * (1 - c * c)
                    let dAr = dAc * rh * r * (1 - r)
                    let xr = (i * t + step) * g
                    dxw[xr + k] = dAz; dxw[xr + u + k] = dAr; dxw[xr + 2 * u + k] = dAc
                    dhu[i * g + k] = dAz; dhu[i * g + u + k] = dAr; dhu[i * g + 2 * u + k] = dAc * r
                    dhNext[i * u + k] = dh * z
                }
            }
            // dU += h_{t−1}ᵀ · dhu; db' += Σ dhu; dh_{t−1} += dhu · Uᵀ
            BLAS.gemm(transA: true, m: u, n: g, k: b, a: hPrev, lda: u, b: dhu, ldb: g, beta: 1, c: dU, ldc: g)
            for i in 0..<b { for j in 0..<g { dB[g + j] += dhu[i * g + j] } }
            dhNext.withUnsafeMutableBufferPointer { p in
                BLAS.gemm(transB: true, m: b, n: u, k: g, a: dhu, lda: g, b: recurrent, ldb: g, beta: 1, c: p.baseAddress!, ldc: u)
            }
        }
        // Input side for all steps at once.
        BLAS.gemm(transA: true, m: inputs, n: g, k: b * t, a: x, lda: inputs, b: dxw, ldb: g, beta: 1, c: dW, ldc: g)
        for row in 0..<(b * t) { for j in 0..<g { dB[j] += dxw[row * g + j] } }
        BLAS.gemm(transB: true, m: b * t, n: inputs, k: g, a: dxw, lda: g, b: kernel, ldb: g, c: dx, ldc: inputs)
    }
}

@inline(__always) func sigmoid(_ v: Float) -> Float { 1 / (1 + exp(-v)) }
