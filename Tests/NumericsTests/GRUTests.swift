import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

@Suite("GRU (Keras, reset_after)")
struct GRUTests {
    @Test("parameter count matches Docs/students.md's formula")
    func count() {
        #expect(GRU(inputs: 40, units: 128).parameterCount == 3 * (40 * 128 + 128 * 128 + 2 * 128))
    }

    @Test("forward matches a direct Double implementation of the equations")
    func forward() {
        let (b, t, n, u) = (2, 5, 3, 4)
        let gru = GRU(inputs: n, units: u)
        let x = randomArray(b * t * n, seed: 41), w = randomArray(n * 3 * u, seed: 42),
            r = randomArray(u * 3 * u, seed: 43)
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
        let x = randomArray(b * t * n, seed: 51), w = randomArray(n * 3 * u, seed: 52),
            r = randomArray(u * 3 * u, seed: 53)
        let bias = randomArray(6 * u, seed: 54), up = randomArray(b * t * u, seed: 55)
        func loss(_ x: [Float], _ w: [Float], _ r: [Float], _ bias: [Float]) -> Double {
            zip(gru.forward(x, batch: b, steps: t, kernel: w, recurrent: r, bias: bias).outputs, up).reduce(0) {
                $0 + Double($1.0) * Double($1.1)
            }
        }
        let cache = gru.forward(x, batch: b, steps: t, kernel: w, recurrent: r, bias: bias)
        var dW = [Float](repeating: 0, count: w.count), dU = [Float](repeating: 0, count: r.count)
        var dB = [Float](repeating: 0, count: bias.count), dx = [Float](repeating: 0, count: x.count)
        dW.withUnsafeMutableBufferPointer { a in
            dU.withUnsafeMutableBufferPointer { c in
                dB.withUnsafeMutableBufferPointer { d in
                    dx.withUnsafeMutableBufferPointer { e in
                        gru.backward(
                            cache, input: x, outputGradient: up, kernel: w, recurrent: r,
                            kernelGradient: a.baseAddress!,
                            recurrentGradient: c.baseAddress!, biasGradient: d.baseAddress!,
                            inputGradient: e.baseAddress!)
                    }
                }
            }
        }
        expectFiniteDifferences("dW", w, dW) { loss(x, $0, r, bias) }
        expectFiniteDifferences("dU", r, dU) { loss(x, w, $0, bias) }
        expectFiniteDifferences("dBias", bias, dB) { loss(x, w, r, $0) }
        expectFiniteDifferences("dx", x, dx) { loss($0, w, r, bias) }
    }
}
