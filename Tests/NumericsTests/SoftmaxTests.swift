import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

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
        dx.withUnsafeMutableBufferPointer {
            Softmax.backward(output: y, outputGradient: g, rows: 2, width: 4, into: $0.baseAddress!)
        }
        let h: Float = 1e-3
        for i in 0..<8 {
            var xp = x, xm = x
            xp[i] += h
            xm[i] -= h
            #expect(abs((f(xp) - f(xm)) / Double(2 * h) - Double(dx[i])) < 1e-3, "dx[\(i)]")
        }
    }
}
