import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

@Suite("Fixed-order reduction")
struct FixedOrderReductionTests {
    @Test("gradient-style sums are byte-identical for 1, 2 and 7 threads")
    func deterministic() throws {
        let values = randomArray(1000 * 16, seed: 21).map { $0 * 1e3 }  // large spread: order matters for float sums
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
