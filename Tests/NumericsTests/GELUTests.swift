import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

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
        g.withUnsafeMutableBufferPointer { gp in
            xs.withUnsafeBufferPointer { Vector.geluBackward(gp.baseAddress!, input: $0.baseAddress!, count: gp.count) }
        }
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
