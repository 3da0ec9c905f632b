import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

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
