import Foundation
import Testing
import TKDCore
@testable import Numerics

func randomArray(_ n: Int, seed: UInt64) -> [Float] {
    var rng = CounterRNG(seed: seed, key: ["numerics-test"])
    return (0..<n).map { _ in Float(rng.uniform(-1, 1)) }
}

/// Checks `grad` against central finite differences of `f` at `values`, element by element.
/// Float32 forward passes: h = 1e-2 keeps the O(h²) truncation and the rounding both below `tolerance`.
func expectFiniteDifferences(_ name: String, _ values: [Float], _ grad: [Float], step h: Float = 1e-2, tolerance: Double = 2e-3,
                             sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Float]) -> Double) {
    for i in 0..<values.count {
        var p = values, m = values
        p[i] += h
        m[i] -= h
        let fd = (f(p) - f(m)) / Double(2 * h)
        #expect(abs(fd - Double(grad[i])) < tolerance, "\(name)[\(i)]: finite difference \(fd), backward \(grad[i])",
                sourceLocation: sourceLocation)
    }
}

@Suite("BLAS")
struct BLASTests {
    /// Float32 products of length k accumulate rounding of order k · ε relative to the magnitudes.
    static let tolerance: Float = 1e-5

    @Test("sgemm equals a Double reference for every transposition, with row strides", arguments: [false, true], [false, true])
    func gemm(transA: Bool, transB: Bool) {
        let (m, n, k) = (7, 5, 11)
        let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 3, ldc = n + 1
        let a = randomArray((transA ? k : m) * lda, seed: 1), b = randomArray((transB ? n : k) * ldb, seed: 2)
        var c = randomArray(m * ldc, seed: 3)
        let c0 = c
        c.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                      beta: 2, c: cp.baseAddress!, ldc: ldc)
        }
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                let want = 0.5 * s + 2 * Double(c0[i * ldc + j])
                #expect(abs(Double(c[i * ldc + j]) - want) < Double(Self.tolerance), "(\(i), \(j))")
            }
            #expect(c[i * ldc + n] == c0[i * ldc + n], "the padding column is untouched")
        }
    }
}

@Suite("Convolution")
struct ConvolutionTests {
    @Test("Keras/TensorFlow output lengths and padding")
    func shapes() {
        #expect(ConvAxis(input: 49, kernel: 3, stride: 1, padding: .same).output == 49)
        #expect(ConvAxis(input: 49, kernel: 3, stride: 2, padding: .same).output == 25)
        #expect(ConvAxis(input: 49, kernel: 3, stride: 2, padding: .same).padBefore == 1)
        #expect(ConvAxis(input: 10, kernel: 3, stride: 2, padding: .same).padBefore == 0, "total padding 1: TF puts the odd zero after")
        #expect(ConvAxis(input: 10, kernel: 4, stride: 2, padding: .same).padBefore == 1, "total padding 2 splits evenly")
        #expect(ConvAxis(input: 49, kernel: 3, stride: 1, dilation: 2, padding: .valid).output == 45)
        #expect(ConvAxis(input: 20, kernel: 5, stride: 3, padding: .valid).output == 6)
    }

    static func direct(_ conv: Conv2D, _ x: [Float], _ w: [Float], _ b: [Float]) -> [Double] {
        let (oh, ow, ci, co) = (conv.rows.output, conv.cols.output, conv.inChannels, conv.outChannels)
        var y = [Double](repeating: 0, count: oh * ow * co)
        for i in 0..<oh { for j in 0..<ow { for o in 0..<co {
            var s = Double(b[o])
            for ki in 0..<conv.rows.kernel { for kj in 0..<conv.cols.kernel {
                let r = i * conv.rows.stride + ki * conv.rows.dilation - conv.rows.padBefore
                let q = j * conv.cols.stride + kj * conv.cols.dilation - conv.cols.padBefore
                guard r >= 0, r < conv.rows.input, q >= 0, q < conv.cols.input else { continue }
                for c in 0..<ci {
                    s += Double(x[(r * conv.cols.input + q) * ci + c]) * Double(w[((ki * conv.cols.kernel + kj) * ci + c) * co + o])
                }
            }}
            y[(i * ow + j) * co + o] = s
        }}}
        return y
    }

    static let cases: [Conv2D] = [
        Conv2D(rows: ConvAxis(input: 9, kernel: 3, stride: 2, padding: .same), cols: ConvAxis(input: 7, kernel: 3, padding: .same), inChannels: 3, outChannels: 4),
        Conv2D(rows: ConvAxis(input: 1, kernel: 1, padding: .valid), cols: ConvAxis(input: 20, kernel: 3, stride: 1, dilation: 2, padding: .valid), inChannels: 5, outChannels: 2),
        Conv2D(rows: ConvAxis(input: 1, kernel: 1, padding: .same), cols: ConvAxis(input: 11, kernel: 9, stride: 2, padding: .same), inChannels: 2, outChannels: 3),
    ]

    @Test("im2col + sgemm equals direct convolution (same/valid, strides, dilation, 1-D and 2-D)", arguments: cases)
    func forward(conv: Conv2D) {
        let x = randomArray(conv.rows.input * conv.cols.input * conv.inChannels, seed: 4)
        let w = randomArray(conv.patchSize * conv.outChannels, seed: 5), b = randomArray(conv.outChannels, seed: 6)
        var y = [Float](repeating: 0, count: conv.outputCount)
        var scratch = [Float](repeating: 0, count: conv.rows.output * conv.cols.output * conv.patchSize)
        y.withUnsafeMutableBufferPointer { yp in scratch.withUnsafeMutableBufferPointer { sp in
            conv.forward(x, weights: w, bias: b, output: yp.baseAddress!, scratch: sp.baseAddress!)
        }}
        let want = Self.direct(conv, x, w, b)
        for i in 0..<y.count { #expect(abs(Double(y[i]) - want[i]) < 1e-5, "output \(i)") }
    }

    @Test("backward matches central finite differences of a scalar loss (Double reference)", arguments: cases)
    func backward(conv: Conv2D) {
        let x = randomArray(conv.rows.input * conv.cols.input * conv.inChannels, seed: 7)
        let w = randomArray(conv.patchSize * conv.outChannels, seed: 8), b = randomArray(conv.outChannels, seed: 9)
        let g = randomArray(conv.outputCount, seed: 10)   // loss = Σ g ⊙ y
        var dw = [Float](repeating: 0, count: w.count), db = [Float](repeating: 0, count: b.count), dx = [Float](repeating: 0, count: x.count)
        var scratch = [Float](repeating: 0, count: 2 * conv.rows.output * conv.cols.output * conv.patchSize)
        dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in dx.withUnsafeMutableBufferPointer { dxp in
            scratch.withUnsafeMutableBufferPointer { sp in
                conv.backward(x, weights: w, outputGradient: g, weightGradient: dwp.baseAddress!, biasGradient: dbp.baseAddress!,
                              inputGradient: dxp.baseAddress!, scratch: sp.baseAddress!)
            }
        }}}
        func loss(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            zip(Self.direct(conv, x, w, b), g).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        // The loss is linear in each argument, so a central difference of h = 1e-2 is exact up to rounding.
        let h: Float = 1e-2, tolerance = 1e-3
        for i in stride(from: 0, to: w.count, by: max(1, w.count / 17)) {
            var wp = w, wm = w; wp[i] += h; wm[i] -= h
            #expect(abs((loss(x, wp, b) - loss(x, wm, b)) / Double(2 * h) - Double(dw[i])) < tolerance, "dW[\(i)]")
        }
        for i in stride(from: 0, to: x.count, by: max(1, x.count / 17)) {
            var xp = x, xm = x; xp[i] += h; xm[i] -= h
            #expect(abs((loss(xp, w, b) - loss(xm, w, b)) / Double(2 * h) - Double(dx[i])) < tolerance, "dX[\(i)]")
        }
        for o in 0..<b.count {
            var bp = b, bm = b; bp[o] += h; bm[o] -= h
            #expect(abs((loss(x, w, bp) - loss(x, w, bm)) / Double(2 * h) - Double(db[o])) < tolerance, "dB[\(o)]")
        }
    }
}

@Suite("Softmax")
struct SoftmaxTests {
    @Test("softmax and log-softmax are stable for large logits and agree with each other")
    func stable() {
        let x: [Float] = [1000, 1001, 999, -5, 0, 5]
        var y = [Float](repeating: 0, count: 6), l = [Float](repeating: 0, count: 6)
        y.withUnsafeMutableBufferPointer { Softmax.forward(x, rows: 2, width: 3, into: $0.baseAddress!) }
        l.withUnsafeMutableBufferPointer { Softmax.logForward(x, rows: 2, width: 3, into: $0.baseAddress!) }
        #expect(abs(y[0] + y[1] + y[2] - 1) < 1e-6 && abs(y[3] + y[4] + y[5] - 1) < 1e-6)
        let want0 = exp(-1.0) / (exp(-1.0) + 1 + exp(-2.0))
        #expect(abs(Double(y[0]) - want0) < 1e-6)
        for i in 0..<6 { #expect(abs(exp(l[i]) - y[i]) < 1e-6) }
    }

    @Test("softmax backward matches finite differences")
    func backward() {
        let x = randomArray(8, seed: 11), g = randomArray(8, seed: 12)
        func f(_ x: [Float]) -> Double {
            var y = [Float](repeating: 0, count: 8)
            y.withUnsafeMutableBufferPointer { Softmax.forward(x, rows: 2, width: 4, into: $0.baseAddress!) }
            return zip(y, g).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var y = [Float](repeating: 0, count: 8), dx = [Float](repeating: 0, count: 8)
        y.withUnsafeMutableBufferPointer { Softmax.forward(x, rows: 2, width: 4, into: $0.baseAddress!) }
        dx.withUnsafeMutableBufferPointer { Softmax.backward(output: y, outputGradient: g, rows: 2, width: 4, into: $0.baseAddress!) }
        let h: Float = 1e-3
        for i in 0..<8 {
            var xp = x, xm = x; xp[i] += h; xm[i] -= h
            #expect(abs((f(xp) - f(xm)) / Double(2 * h) - Double(dx[i])) < 1e-3, "dx[\(i)]")
        }
    }
}

@Suite("Fixed-order reduction")
struct FixedOrderReductionTests {
    @Test("gradient-style sums are byte-identical for 1, 2 and 7 threads")
    func deterministic() throws {
        let values = randomArray(1000 * 16, seed: 21).map { $0 * 1e3 }   // large spread: order matters for float sums
        func run(_ jobs: Int) throws -> [Float] {
            try FixedOrderReduction(jobs: jobs, chunkSize: 8).sum(count: 1000, width: 16) { range, acc in
                for e in range { for i in 0..<16 { acc[i] += values[e * 16 + i] * Float(e % 3 + 1) } }
            }
        }
        let one = try run(1)
        #expect(try run(2) == one)
        #expect(try run(7) == one)
        // And it is the sum (to float accuracy).
        for i in 0..<16 {
            let want = (0..<1000).reduce(0.0) { $0 + Double(values[$1 * 16 + i]) * Double($1 % 3 + 1) }
            #expect(abs(Double(one[i]) - want) < 1e-5 * max(1, abs(want)), "float32 sums of 1000 terms: relative 1e-5")
        }
    }
}

@Suite("Batch normalisation")
struct BatchNormTests {
    static let (n, c) = (6, 3)

    static func forward(_ x: [Float], _ g: [Float], _ b: [Float]) -> ([Float], BatchNorm.Cache) {
        var y = [Float](repeating: 0, count: x.count)
        let cache = y.withUnsafeMutableBufferPointer {
            BatchNorm.forwardTraining(x, rows: n, channels: c, gamma: g, beta: b, epsilon: 1e-3, output: $0.baseAddress!)
        }
        return (y, cache)
    }

    @Test("training forward normalises each channel; backward matches finite differences")
    func training() {
        let x = randomArray(Self.n * Self.c, seed: 31).map { $0 * 3 + 1 }, g = randomArray(Self.c, seed: 32), b = randomArray(Self.c, seed: 33)
        let up = randomArray(Self.n * Self.c, seed: 34)   // loss = Σ up ⊙ y
        let (y, cache) = Self.forward(x, [1, 1, 1], [0, 0, 0])
        for ch in 0..<Self.c {
            let col = (0..<Self.n).map { Double(y[$0 * Self.c + ch]) }
            let mean = col.reduce(0, +) / Double(Self.n)
            let variance = col.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(Self.n)
            #expect(abs(mean) < 1e-6)
            #expect(abs(variance - Double(cache.variance[ch]) / (Double(cache.variance[ch]) + 1e-3)) < 1e-5)
        }
        var dx = [Float](repeating: 0, count: x.count), dg = [Float](repeating: 0, count: Self.c), db = [Float](repeating: 0, count: Self.c)
        let (_, cg) = Self.forward(x, g, b)
        dx.withUnsafeMutableBufferPointer { dxp in dg.withUnsafeMutableBufferPointer { dgp in db.withUnsafeMutableBufferPointer { dbp in
            BatchNorm.backward(cg, outputGradient: up, channels: Self.c, gamma: g, inputGradient: dxp.baseAddress!,
                               gammaGradient: dgp.baseAddress!, betaGradient: dbp.baseAddress!)
        }}}
        func loss(_ x: [Float], _ g: [Float], _ b: [Float]) -> Double { zip(Self.forward(x, g, b).0, up).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
        let h: Float = 1e-2
        for i in 0..<x.count {
            var p = x, m = x; p[i] += h; m[i] -= h
            #expect(abs((loss(p, g, b) - loss(m, g, b)) / Double(2 * h) - Double(dx[i])) < 2e-3, "dx[\(i)]")
        }
        for ch in 0..<Self.c {
            var gp = g, gm = g; gp[ch] += h; gm[ch] -= h
            #expect(abs((loss(x, gp, b) - loss(x, gm, b)) / Double(2 * h) - Double(dg[ch])) < 2e-3, "dγ[\(ch)]")
            var bp = b, bm = b; bp[ch] += h; bm[ch] -= h
            #expect(abs((loss(x, g, bp) - loss(x, g, bm)) / Double(2 * h) - Double(db[ch])) < 2e-3, "dβ[\(ch)]")
        }
    }

    @Test("running statistics use the unbiased variance; inference uses them")
    func running() {
        let x: [Float] = [1, 10, 3, 20, 5, 30, 7, 40, 9, 50, 11, 60]   // 6 rows × 2 channels
        var y = [Float](repeating: 0, count: 12)
        let cache = y.withUnsafeMutableBufferPointer {
            BatchNorm.forwardTraining(x, rows: 6, channels: 2, gamma: [1, 1], beta: [0, 0], epsilon: 1e-3, output: $0.baseAddress!)
        }
        var mean: [Float] = [0, 0], variance: [Float] = [1, 1]
        mean.withUnsafeMutableBufferPointer { m in variance.withUnsafeMutableBufferPointer { v in
            BatchNorm.updateRunning(cache, momentum: 0.9, runningMean: m.baseAddress!, runningVariance: v.baseAddress!, channels: 2)
        }}
        // Channel 0: 1, 3, …, 11 → mean 6, unbiased variance 14.
        #expect(abs(mean[0] - 0.6) < 1e-6 && abs(variance[0] - (0.9 + 0.1 * 14)) < 1e-5)
        var out = [Float](repeating: 0, count: 12)
        out.withUnsafeMutableBufferPointer {
            BatchNorm.forwardInference(x, rows: 6, channels: 2, gamma: [2, 1], beta: [1, 0], runningMean: [6, 35],
                                       runningVariance: [14, 350], epsilon: 1e-3, output: $0.baseAddress!)
        }
        #expect(abs(out[0] - (2 * (1 - 6) / (14 + 1e-3).squareRoot() + 1)) < 1e-5)
    }
}

@Suite("GRU (Keras, reset_after)")
struct GRUTests {
    @Test("parameter count matches STUDENTS.md's formula")
    func count() {
        #expect(GRU(inputs: 40, units: 128).parameterCount == 3 * (40 * 128 + 128 * 128 + 2 * 128))
    }

    @Test("forward matches a direct Double implementation of the equations")
    func forward() {
        let (b, t, n, u) = (2, 5, 3, 4)
        let gru = GRU(inputs: n, units: u)
        let x = randomArray(b * t * n, seed: 41), w = randomArray(n * 3 * u, seed: 42), r = randomArray(u * 3 * u, seed: 43)
        let bias = randomArray(6 * u, seed: 44)
        let cache = gru.forward(x, batch: b, steps: t, kernel: w, recurrent: r, bias: bias)
        for i in 0..<b {
            var h = [Double](repeating: 0, count: u)
            for s in 0..<t {
                func pre(_ gate: Int, _ k: Int) -> (Double, Double) {
                    var xs = Double(bias[gate * u + k]), hs = Double(bias[3 * u + gate * u + k])
                    for j in 0..<n { xs += Double(x[(i * t + s) * n + j]) * Double(w[j * 3 * u + gate * u + k]) }
                    for j in 0..<u { hs += h[j] * Double(r[j * 3 * u + gate * u + k]) }
                    return (xs, hs)
                }
                func sig(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
                var next = h
                for k in 0..<u {
                    let (xz, hz) = pre(0, k), (xr, hr) = pre(1, k), (xh, hh) = pre(2, k)
                    let z = sig(xz + hz), rr = sig(xr + hr), c = tanh(xh + rr * hh)
                    next[k] = z * h[k] + (1 - z) * c
                }
                h = next
                for k in 0..<u { #expect(abs(Double(cache.outputs[(i * t + s) * u + k]) - h[k]) < 1e-5) }
            }
        }
    }

    @Test("backward through time matches central finite differences")
    func backward() {
        let (b, t, n, u) = (2, 4, 3, 3)
        let gru = GRU(inputs: n, units: u)
        let x = randomArray(b * t * n, seed: 51), w = randomArray(n * 3 * u, seed: 52), r = randomArray(u * 3 * u, seed: 53)
        let bias = randomArray(6 * u, seed: 54), up = randomArray(b * t * u, seed: 55)
        func loss(_ x: [Float], _ w: [Float], _ r: [Float], _ bias: [Float]) -> Double {
            zip(gru.forward(x, batch: b, steps: t, kernel: w, recurrent: r, bias: bias).outputs, up).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let cache = gru.forward(x, batch: b, steps: t, kernel: w, recurrent: r, bias: bias)
        var dW = [Float](repeating: 0, count: w.count), dU = [Float](repeating: 0, count: r.count)
        var dB = [Float](repeating: 0, count: bias.count), dx = [Float](repeating: 0, count: x.count)
        dW.withUnsafeMutableBufferPointer { a in dU.withUnsafeMutableBufferPointer { c in dB.withUnsafeMutableBufferPointer { d in dx.withUnsafeMutableBufferPointer { e in
            gru.backward(cache, input: x, outputGradient: up, kernel: w, recurrent: r, kernelGradient: a.baseAddress!,
                         recurrentGradient: c.baseAddress!, biasGradient: d.baseAddress!, inputGradient: e.baseAddress!)
        }}}}
        expectFiniteDifferences("dW", w, dW) { loss(x, $0, r, bias) }
        expectFiniteDifferences("dU", r, dU) { loss(x, w, $0, bias) }
        expectFiniteDifferences("dBias", bias, dB) { loss(x, w, r, $0) }
        expectFiniteDifferences("dx", x, dx) { loss($0, w, r, bias) }
    }
}

@Suite("LSTM with peepholes and projection (TF1 LSTMCell)")
struct PeepholeLSTMTests {
    @Test("parameter count: LSTM-P's layer is 543,500 (STUDENTS.md §5)")
    func count() {
        #expect(PeepholeLSTM(inputs: 20, units: 500, projection: 200).parameterCount == 543_500)
    }

    @Test("forward matches a direct Double implementation of the equations")
    func forward() {
        let (b, t, d, n, p) = (2, 4, 3, 4, 2)
        let lstm = PeepholeLSTM(inputs: d, units: n, projection: p)
        let x = randomArray(b * t * d, seed: 61), w = randomArray((d + p) * 4 * n, seed: 62), bias = randomArray(4 * n, seed: 63)
        let peep = randomArray(3 * n, seed: 64), proj = randomArray(n * p, seed: 65)
        let cache = lstm.forward(x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj)
        func sig(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        for i in 0..<b {
            var c = [Double](repeating: 0, count: n), m = [Double](repeating: 0, count: p)
            for s in 0..<t {
                let input = (0..<d).map { Double(x[(i * t + s) * d + $0]) } + m
                func a(_ gate: Int, _ k: Int) -> Double {
                    (0..<(d + p)).reduce(Double(bias[gate * n + k])) { $0 + input[$1] * Double(w[$1 * 4 * n + gate * n + k]) }
                }
                var newC = c, mraw = [Double](repeating: 0, count: n)
                for k in 0..<n {
                    let ig = sig(a(0, k) + Double(peep[k]) * c[k])
                    let fg = sig(a(2, k) + 1 + Double(peep[n + k]) * c[k])
                    newC[k] = fg * c[k] + ig * tanh(a(1, k))
                    let og = sig(a(3, k) + Double(peep[2 * n + k]) * newC[k])
                    mraw[k] = og * tanh(newC[k])
                }
                c = newC
                m = (0..<p).map { j in (0..<n).reduce(0.0) { $0 + mraw[$1] * Double(proj[$1 * p + j]) } }
                for j in 0..<p { #expect(abs(Double(cache.outputs[(i * t + s) * p + j]) - m[j]) < 1e-5) }
                for k in 0..<n { #expect(abs(Double(cache.cells[(i * t + s) * n + k]) - c[k]) < 1e-5) }
            }
        }
    }

    @Test("backward through time matches central finite differences")
    func backward() {
        let (b, t, d, n, p) = (2, 3, 3, 3, 2)
        let lstm = PeepholeLSTM(inputs: d, units: n, projection: p)
        let x = randomArray(b * t * d, seed: 71), w = randomArray((d + p) * 4 * n, seed: 72), bias = randomArray(4 * n, seed: 73)
        let peep = randomArray(3 * n, seed: 74), proj = randomArray(n * p, seed: 75), up = randomArray(b * t * p, seed: 76)
        func loss(_ x: [Float], _ w: [Float], _ bias: [Float], _ peep: [Float], _ proj: [Float]) -> Double {
            zip(lstm.forward(x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj).outputs, up)
                .reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let cache = lstm.forward(x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj)
        var dW = [Float](repeating: 0, count: w.count), dB = [Float](repeating: 0, count: bias.count)
        var dPeep = [Float](repeating: 0, count: peep.count), dP = [Float](repeating: 0, count: proj.count), dx = [Float](repeating: 0, count: x.count)
        dW.withUnsafeMutableBufferPointer { a in dB.withUnsafeMutableBufferPointer { c in dPeep.withUnsafeMutableBufferPointer { e in
            dP.withUnsafeMutableBufferPointer { f in dx.withUnsafeMutableBufferPointer { g in
                lstm.backward(cache, input: x, outputGradient: up, kernel: w, peepholes: peep, projectionMatrix: proj,
                              kernelGradient: a.baseAddress!, biasGradient: c.baseAddress!, peepholeGradient: e.baseAddress!,
                              projectionGradient: f.baseAddress!, inputGradient: g.baseAddress!)
            }}
        }}}
        expectFiniteDifferences("dW", w, dW) { loss(x, $0, bias, peep, proj) }
        expectFiniteDifferences("dBias", bias, dB) { loss(x, w, $0, peep, proj) }
        expectFiniteDifferences("dPeepholes", peep, dPeep) { loss(x, w, bias, $0, proj) }
        expectFiniteDifferences("dP", proj, dP) { loss(x, w, bias, peep, $0) }
        expectFiniteDifferences("dx", x, dx) { loss($0, w, bias, peep, proj) }
    }
}

@Suite("Attention")
struct AttentionTests {
    @Test("query attention: parameter counts of Att-RNN (1 head) and MHAtt-RNN (4 heads) over 256-wide H")
    func counts() {
        #expect(QueryAttention(width: 256, heads: 1).parameterCount == 65_792)
        #expect(QueryAttention(width: 256, heads: 4).parameterCount == 263_168)
    }

    @Test("query attention forward/backward: weights sum to 1, gradients match finite differences", arguments: [1, 3])
    func queryAttention(heads: Int) {
        let (b, t, d) = (2, 5, 3)
        let att = QueryAttention(width: d, heads: heads)
        let h = randomArray(b * t * d, seed: 81), w = randomArray(heads * d * d, seed: 82), qb = randomArray(heads * d, seed: 83)
        let up = randomArray(b * heads * d, seed: 84)
        let cache = att.forward(h, batch: b, steps: t, queryWeights: w, queryBiases: qb)
        for row in 0..<(b * heads) { #expect(abs(cache.weights[(row * t)..<((row + 1) * t)].reduce(0, +) - 1) < 1e-5) }
        func loss(_ h: [Float], _ w: [Float], _ qb: [Float]) -> Double {
            zip(att.forward(h, batch: b, steps: t, queryWeights: w, queryBiases: qb).outputs, up).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var dW = [Float](repeating: 0, count: w.count), dB = [Float](repeating: 0, count: qb.count), dH = [Float](repeating: 0, count: h.count)
        dW.withUnsafeMutableBufferPointer { a in dB.withUnsafeMutableBufferPointer { c in dH.withUnsafeMutableBufferPointer { e in
            att.backward(cache, input: h, outputGradient: up, queryWeights: w, weightGradient: a.baseAddress!,
                         biasGradient: c.baseAddress!, inputGradient: e.baseAddress!)
        }}}
        expectFiniteDifferences("dW", w, dW) { loss(h, $0, qb) }
        expectFiniteDifferences("dBias", qb, dB) { loss(h, w, $0) }
        expectFiniteDifferences("dH", h, dH) { loss($0, w, qb) }
    }

    @Test("temporal attention KD: KL(a_T ‖ a_S) is 0 at a_S = a_T; gradients match finite differences")
    func kd() {
        let (b, t, d) = (2, 6, 4)
        let c = randomArray(b * t * d, seed: 91), q = randomArray(d, seed: 92)
        var target = randomArray(b * t, seed: 93).map { abs($0) + 0.05 }
        for i in 0..<b { let s = target[(i * t)..<((i + 1) * t)].reduce(0, +); for j in 0..<t { target[i * t + j] /= s } }
        func run(_ c: [Float], _ q: [Float], _ target: [Float]) -> (TemporalAttentionKD.Result, [Float], [Float]) {
            var dC = [Float](repeating: 0, count: c.count), dQ = [Float](repeating: 0, count: q.count)
            let r = dC.withUnsafeMutableBufferPointer { a in dQ.withUnsafeMutableBufferPointer { e in
                TemporalAttentionKD.lossAndGradients(context: c, batch: b, steps: t, width: d, query: q, temperature: 0.5,
                                                     target: target, contextGradient: a.baseAddress!, queryGradient: e.baseAddress!)
            }}
            return (r, dC, dQ)
        }
        let (result, dC, dQ) = run(c, q, target)
        #expect(result.loss > 0)
        #expect(abs(run(c, q, result.studentAttention).0.loss) < 1e-6, "KL of a distribution with itself")
        expectFiniteDifferences("dC", c, dC) { run($0, q, target).0.loss }
        expectFiniteDifferences("dQ", q, dQ) { run(c, $0, target).0.loss }
    }
}

@Suite("Optimisers and schedules")
struct OptimizerTests {
    @Test("kws_streaming's exp schedule: 1e-3 → 2e-5 over 80,000 steps (STUDENTS.md §3)")
    func exponential() {
        let s = LearningRateSchedule.exponential(initial: 1e-3, final: 2e-5, steps: 80_000)
        #expect(abs(s.rate(step: 80_000) - 2e-5) < 1e-12)
        // The values STUDENTS.md quotes at 20k / 40k / 60k steps.
        #expect(abs(s.rate(step: 20_000) - 3.76e-4) < 0.01e-4)
        #expect(abs(s.rate(step: 40_000) - 1.41e-4) < 0.01e-4)
        #expect(abs(s.rate(step: 60_000) - 5.32e-5) < 0.01e-5)
        let w = LearningRateSchedule.warmupCosine(peak: 1, final: 0, warmup: 10, steps: 110)
        #expect(w.rate(step: 5) == 0.5 && w.rate(step: 10) == 1 && abs(w.rate(step: 60) - 0.5) < 1e-12 && abs(w.rate(step: 110)) < 1e-12)
    }

    @Test("Adam's first steps equal the Keras formulas worked by hand")
    func adam() {
        var p: [Float] = [1, -2], opt = Adam()
        let g: [Float] = [0.5, -0.25]
        p.withUnsafeMutableBufferPointer { pp in g.withUnsafeBufferPointer { gg in opt.update([pp], gradients: [gg], lr: 0.1) } }
        // Step 1: m = 0.1 g, v = 0.001 g², lr_t = 0.1 · sqrt(0.001) / 0.1 → update ≈ lr · sign(g).
        let lrT = 0.1 * (0.001 as Double).squareRoot() / 0.1
        for i in 0..<2 {
            let m = 0.1 * Double(g[i]), v = 0.001 * Double(g[i]) * Double(g[i])
            let want = Double([1, -2][i]) - lrT * m / (v.squareRoot() + 1e-8)
            #expect(abs(Double(p[i]) - want) < 1e-6)
        }
        #expect(opt.step == 1)
    }

    @Test("momentum SGD accumulates velocity; global-norm clipping scales all gradients together")
    func sgdAndClipping() {
        var p: [Float] = [1], opt = MomentumSGD(momentum: 0.9)
        for _ in 0..<2 {
            p.withUnsafeMutableBufferPointer { pp in [Float(1)].withUnsafeBufferPointer { opt.update([pp], gradients: [$0], lr: 0.1) } }
        }
        #expect(abs(p[0] - (1 - 0.1 - 0.19)) < 1e-6)
        var a: [Float] = [3, 0], b: [Float] = [0, 4]
        let norm = a.withUnsafeMutableBufferPointer { ap in b.withUnsafeMutableBufferPointer { bp in clipGlobalNorm([ap, bp], maxNorm: 1) } }
        #expect(norm == 5 && abs(a[0] - 0.6) < 1e-6 && abs(b[1] - 0.8) < 1e-6)
    }
}

@Suite("Fast math")
struct FastMathTests {
    @Test("fastExp within 2 ulp of exp on [−87, 88]; the SIMD version equals the scalar one; sigmoid/tanh saturate")
    func accuracy() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let want = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(fastExp(x)) - want) / want)
            x += 0.0137
        }
        #expect(worst < 2.5e-7, "worst relative error \(worst)")
        let lanes = SIMD8<Float>(-90, -20.5, -1, -1e-4, 0, 0.3, 17.25, 100)
        let v = fastExp(lanes)
        for i in 0..<8 { #expect(v[i] == fastExp(lanes[i])) }
        for t: Float in [-200, -30, -3, -0.5, -1e-3, 0, 1e-3, 0.5, 3, 30, 200] {
            #expect(abs(Double(fastSigmoid(t)) - 1 / (1 + Foundation.exp(-Double(t)))) < 3e-7)
            #expect(abs(Double(fastTanh(t)) - Foundation.tanh(Double(t))) < 3e-7)
        }
        #expect(fastSigmoid(-1000) >= 0 && fastSigmoid(1000) == 1 && fastTanh(-1000) == -1 && fastTanh(1000) == 1)
    }

    @Test("vector kernels equal their scalar definitions, including the tails")
    func kernels() {
        let n = 21
        let a = randomArray(n, seed: 31), b = randomArray(n, seed: 32), h = randomArray(n, seed: 33)
        var out = [Float](repeating: 0, count: n)
        Vector.sigmoidOfSum(a, b, into: &out, count: n)
        for i in 0..<n { #expect(abs(out[i] - fastSigmoid(a[i] + b[i])) <= 1e-7) }
        Vector.tanhOfSumProduct(a, b, h, into: &out, count: n)
        for i in 0..<n { #expect(abs(out[i] - fastTanh(a[i] + b[i] * h[i])) <= 1e-7) }
        var y = a
        Vector.relu(&y, count: n)
        #expect(y == a.map { max(0, $0) })
        var g = b
        Vector.reluMask(&g, output: y, count: n)
        #expect(g == zip(b, y).map { $1 > 0 ? $0 : 0 })
        var acc = a
        Vector.add(b, into: &acc, count: n)
        #expect(acc == zip(a, b).map { $0 + $1 })
    }
}

@Suite("GELU kernels")
struct GELUTests {
    /// x·Φ(x) and its derivative Φ(x) + x·φ(x) in Double, from Foundation's erf.
    static func exact(_ x: Double) -> (Double, Double) {
        let phi = 0.5 * (1 + erf(x / 2.0.squareRoot()))
        return (x * phi, phi + x * exp(-0.5 * x * x) / (2 * Double.pi).squareRoot())
    }

    @Test("Vector.gelu and geluBackward against the erf form, including the clamped tails and a ragged length")
    func accuracy() {
        let xs = (0..<2_003).map { Float(-12 + 24 * Double($0) / 2_002) }
        var y = xs
        y.withUnsafeMutableBufferPointer { Vector.gelu($0.baseAddress!, count: $0.count) }
        var g = [Float](repeating: 1, count: xs.count)
        g.withUnsafeMutableBufferPointer { gp in xs.withUnsafeBufferPointer { Vector.geluBackward(gp.baseAddress!, input: $0.baseAddress!, count: gp.count) } }
        var worst = (value: 0.0, derivative: 0.0)
        for (i, x) in xs.enumerated() {
            let (v, d) = Self.exact(Double(x))
            worst.value = max(worst.value, abs(Double(y[i]) - v) / max(1, abs(v)))
            worst.derivative = max(worst.derivative, abs(Double(g[i]) - d))
        }
        #expect(worst.value < 2e-6, "GELU relative error \(worst.value)")
        #expect(worst.derivative < 2e-6, "GELU derivative error \(worst.derivative)")
    }
}
