import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

/// The training forward and backward as they were before their gate loops went eight lanes wide (2026-12-07,
/// one lane at a time over Swift arrays): kept as the reference that the vectorised loops reproduce bit for
/// bit, so that the study's cells trained before and after the change carry the same arithmetic.
extension PeepholeLSTM {
    func scalarForward(
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

    func scalarBackward(
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

@Suite("LSTM-P's vectorised training loops against the scalar ones")
struct PeepholeLSTMBitsTests {
    @Test("forward caches and every gradient equal the scalar loops bit for bit (eight lanes and the tail)")
    func sameBits() {
        for (b, t, d, n, p) in [(3, 5, 4, 21, 6), (2, 7, 20, 16, 8), (1, 3, 5, 3, 2)] {
            let lstm = PeepholeLSTM(inputs: d, units: n, projection: p)
            let x = randomArray(b * t * d, seed: 81), w = randomArray((d + p) * 4 * n, seed: 82)
            let bias = randomArray(4 * n, seed: 83), peep = randomArray(3 * n, seed: 84)
            let proj = randomArray(n * p, seed: 85), up = randomArray(b * t * p, seed: 86)
            let new = lstm.forward(
                x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj)
            let old = lstm.scalarForward(
                x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj)
            #expect(new.outputs == old.outputs && new.cells == old.cells, "n = \(n)")
            #expect(new.ig == old.ig && new.jt == old.jt && new.fg == old.fg && new.og == old.og, "n = \(n)")
            #expect(new.c == old.c && new.tc == old.tc, "n = \(n)")
            func gradients(_ scalar: Bool) -> [[Float]] {
                var dW = [Float](repeating: 0.5, count: w.count), dB = [Float](repeating: 0.5, count: bias.count)
                var dPeep = [Float](repeating: 0.5, count: peep.count)
                var dP = [Float](repeating: 0.5, count: proj.count), dx = [Float](repeating: 0, count: x.count)
                dW.withUnsafeMutableBufferPointer { a in
                    dB.withUnsafeMutableBufferPointer { c in
                        dPeep.withUnsafeMutableBufferPointer { e in
                            dP.withUnsafeMutableBufferPointer { f in
                                dx.withUnsafeMutableBufferPointer { g in
                                    if scalar {
                                        lstm.scalarBackward(
                                            old, input: x, outputGradient: up, kernel: w, peepholes: peep,
                                            projectionMatrix: proj, kernelGradient: a.baseAddress!,
                                            biasGradient: c.baseAddress!, peepholeGradient: e.baseAddress!,
                                            projectionGradient: f.baseAddress!, inputGradient: g.baseAddress!)
                                    } else {
                                        lstm.backward(
                                            new, input: x, outputGradient: up, kernel: w, peepholes: peep,
                                            projectionMatrix: proj, kernelGradient: a.baseAddress!,
                                            biasGradient: c.baseAddress!, peepholeGradient: e.baseAddress!,
                                            projectionGradient: f.baseAddress!, inputGradient: g.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
                return [dW, dB, dPeep, dP, dx]
            }
            let (a, s) = (gradients(false), gradients(true))
            for (name, i) in [("dW", 0), ("dBias", 1), ("dPeepholes", 2), ("dP", 3), ("dx", 4)] {
                #expect(a[i] == s[i], "\(name), n = \(n)")
            }
        }
    }
}
