import Foundation
import TensorStore
import Testing

@testable import Features

@Suite("Fast natural log")
struct FastLogTests {
    /// Float.log (used by the float32 front ends) against Foundation's logf over 60 decades.
    /// Allowed: 3 ulps of the result, or 2e-7 absolute near ln(x) = 0 where ulps shrink.
    @Test("Float.log is within a few ulps of logf from 1e-30 to 1e30")
    func accuracy() {
        var worst: (err: Float, x: Float) = (0, 0)
        var x: Float = 1e-30
        while x < 1e30 {
            let want = Foundation.log(x), got = Float.log(x)
            let err = abs(got - want) / max(want.ulp, 1e-7)
            if err > worst.err { worst = (err, x) }
            x *= 1.000_37
        }
        #expect(worst.err <= 3, "worst \(worst.err) ulps at x = \(worst.x)")
        #expect(Float.log(1) == 0)
    }
}
