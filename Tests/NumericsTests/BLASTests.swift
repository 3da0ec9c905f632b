import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

@Suite("BLAS")
struct BLASTests {
    /// Float32 products of length k accumulate rounding of order k · ε relative to the magnitudes.
    static let tolerance: Float = 1e-5

    @Test(
        "sgemm equals a Double reference for every transposition, with row strides", arguments: [false, true],
        [false, true])
    func gemm(transA: Bool, transB: Bool) {
        let (m, n, k) = (7, 5, 11)
        let lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 3, ldc = n + 1
        let a = randomArray((transA ? k : m) * lda, seed: 1), b = randomArray((transB ? n : k) * ldb, seed: 2)
        var c = randomArray(m * ldc, seed: 3)
        let c0 = c
        c.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
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
