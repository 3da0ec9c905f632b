import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

@Suite("LSTM with peepholes and projection (TF1 LSTMCell)")
struct PeepholeLSTMTests {
    @Test("parameter count: LSTM-P's layer is 543,500 (Docs/students.md §5)")
    func count() {
        #expect(PeepholeLSTM(inputs: 20, units: 500, projection: 200).parameterCount == 543_500)
    }

    @Test("forward matches a direct Double implementation of the equations")
    func forward() {
        let (b, t, d, n, p) = (2, 4, 3, 4, 2)
        let lstm = PeepholeLSTM(inputs: d, units: n, projection: p)
        let x = randomArray(b * t * d, seed: 61), w = randomArray((d + p) * 4 * n, seed: 62),
            bias = randomArray(4 * n, seed: 63)
        let peep = randomArray(3 * n, seed: 64), proj = randomArray(n * p, seed: 65)
        let cache = lstm.forward(x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj)
        func sig(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        for i in 0..<b {
            var c = [Double](repeating: 0, count: n), m = [Double](repeating: 0, count: p)
            for s in 0..<t {
                let input = (0..<d).map { Double(x[(i * t + s) * d + $0]) } + m
                func a(_ gate: Int, _ k: Int) -> Double {
                    (0..<(d + p)).reduce(Double(bias[gate * n + k])) {
                        $0 + input[$1] * Double(w[$1 * 4 * n + gate * n + k])
                    }
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

    @Test("inference gives forward's outputs bit for bit (eight lanes and the scalar tail)")
    func inference() {
        for (b, t, d, n, p) in [(3, 5, 4, 21, 6), (1, 9, 20, 16, 8)] {
            let lstm = PeepholeLSTM(inputs: d, units: n, projection: p)
            let x = randomArray(b * t * d, seed: 71), w = randomArray((d + p) * 4 * n, seed: 72)
            let bias = randomArray(4 * n, seed: 73), peep = randomArray(3 * n, seed: 74),
                proj = randomArray(n * p, seed: 75)
            let cache = lstm.forward(
                x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj)
            let out = lstm.infer(x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj)
            #expect(out == cache.outputs, "n = \(n)")
        }
    }

    @Test("backward through time matches central finite differences")
    func backward() {
        let (b, t, d, n, p) = (2, 3, 3, 3, 2)
        let lstm = PeepholeLSTM(inputs: d, units: n, projection: p)
        let x = randomArray(b * t * d, seed: 71), w = randomArray((d + p) * 4 * n, seed: 72),
            bias = randomArray(4 * n, seed: 73)
        let peep = randomArray(3 * n, seed: 74), proj = randomArray(n * p, seed: 75),
            up = randomArray(b * t * p, seed: 76)
        func loss(_ x: [Float], _ w: [Float], _ bias: [Float], _ peep: [Float], _ proj: [Float]) -> Double {
            zip(
                lstm.forward(x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj)
                    .outputs, up
            )
            .reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let cache = lstm.forward(x, batch: b, steps: t, kernel: w, bias: bias, peepholes: peep, projectionMatrix: proj)
        var dW = [Float](repeating: 0, count: w.count), dB = [Float](repeating: 0, count: bias.count)
        var dPeep = [Float](repeating: 0, count: peep.count), dP = [Float](repeating: 0, count: proj.count),
            dx = [Float](repeating: 0, count: x.count)
        dW.withUnsafeMutableBufferPointer { a in
            dB.withUnsafeMutableBufferPointer { c in
                dPeep.withUnsafeMutableBufferPointer { e in
                    dP.withUnsafeMutableBufferPointer { f in
                        dx.withUnsafeMutableBufferPointer { g in
                            lstm.backward(
                                cache, input: x, outputGradient: up, kernel: w, peepholes: peep, projectionMatrix: proj,
                                kernelGradient: a.baseAddress!, biasGradient: c.baseAddress!,
                                peepholeGradient: e.baseAddress!,
                                projectionGradient: f.baseAddress!, inputGradient: g.baseAddress!)
                        }
                    }
                }
            }
        }
        expectFiniteDifferences("dW", w, dW) { loss(x, $0, bias, peep, proj) }
        expectFiniteDifferences("dBias", bias, dB) { loss(x, w, $0, peep, proj) }
        expectFiniteDifferences("dPeepholes", peep, dPeep) { loss(x, w, bias, $0, proj) }
        expectFiniteDifferences("dP", proj, dP) { loss(x, w, bias, peep, $0) }
        expectFiniteDifferences("dx", x, dx) { loss($0, w, bias, peep, proj) }
    }
}
