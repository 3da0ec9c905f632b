import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

/// Inputs of the kernel tests: uniform in [−1, 1], keyed by the seed.
func randomArray(_ n: Int, seed: UInt64) -> [Float] {
    TestValues.uniform(n, seed: seed, key: "numerics-test")
}

/// Checks `grad` against central finite differences of `f` at `values`, element by element.
/// Float32 forward passes: h = 1e-2 keeps the O(h²) truncation and the rounding both below `tolerance`.
func expectFiniteDifferences(
    _ name: String, _ values: [Float], _ grad: [Float], step h: Float = 1e-2, tolerance: Double = 2e-3,
    sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Float]) -> Double
) {
    FiniteDifferences.expect(name, values, grad, step: h, tolerance: tolerance, sourceLocation: sourceLocation, f)
}
