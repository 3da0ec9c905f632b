import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

@Suite("Batch normalisation")
struct BatchNormTests {
    static let (n, c) = (6, 3)

    static func forward(_ x: [Float], _ g: [Float], _ b: [Float]) -> ([Float], BatchNorm.Cache) {
        var y = [Float](repeating: 0, count: x.count)
        let cache = y.withUnsafeMutableBufferPointer {
            BatchNorm.forwardTraining(
                x, rows: n, channels: c, gamma: g, beta: b, epsilon: 1e-3, output: $0.baseAddress!)
        }
        return (y, cache)
    }

    @Test("training forward normalises each channel; backward matches finite differences")
    func training() {
        let x = randomArray(Self.n * Self.c, seed: 31).map { $0 * 3 + 1 }, g = randomArray(Self.c, seed: 32),
            b = randomArray(Self.c, seed: 33)
        let up = randomArray(Self.n * Self.c, seed: 34)  // loss = Σ up ⊙ y
        let (y, cache) = Self.forward(x, [1, 1, 1], [0, 0, 0])
        for ch in 0..<Self.c {
            let col = (0..<Self.n).map { Double(y[$0 * Self.c + ch]) }
            let mean = col.reduce(0, +) / Double(Self.n)
            let variance = col.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(Self.n)
            #expect(abs(mean) < 1e-6)
            #expect(abs(variance - Double(cache.variance[ch]) / (Double(cache.variance[ch]) + 1e-3)) < 1e-5)
        }
        var dx = [Float](repeating: 0, count: x.count), dg = [Float](repeating: 0, count: Self.c),
            db = [Float](repeating: 0, count: Self.c)
        let (_, cg) = Self.forward(x, g, b)
        dx.withUnsafeMutableBufferPointer { dxp in
            dg.withUnsafeMutableBufferPointer { dgp in
                db.withUnsafeMutableBufferPointer { dbp in
                    BatchNorm.backward(
                        cg, outputGradient: up, channels: Self.c, gamma: g, inputGradient: dxp.baseAddress!,
                        gammaGradient: dgp.baseAddress!, betaGradient: dbp.baseAddress!)
                }
            }
        }
        func loss(_ x: [Float], _ g: [Float], _ b: [Float]) -> Double {
            zip(Self.forward(x, g, b).0, up).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let h: Float = 1e-2
        for i in 0..<x.count {
            var p = x, m = x
            p[i] += h
            m[i] -= h
            #expect(abs((loss(p, g, b) - loss(m, g, b)) / Double(2 * h) - Double(dx[i])) < 2e-3, "dx[\(i)]")
        }
        for ch in 0..<Self.c {
            var gp = g, gm = g
            gp[ch] += h
            gm[ch] -= h
            #expect(abs((loss(x, gp, b) - loss(x, gm, b)) / Double(2 * h) - Double(dg[ch])) < 2e-3, "dγ[\(ch)]")
            var bp = b, bm = b
            bp[ch] += h
            bm[ch] -= h
            #expect(abs((loss(x, g, bp) - loss(x, g, bm)) / Double(2 * h) - Double(db[ch])) < 2e-3, "dβ[\(ch)]")
        }
    }

    @Test("running statistics use the unbiased variance; inference uses them")
    func running() {
        let x: [Float] = [1, 10, 3, 20, 5, 30, 7, 40, 9, 50, 11, 60]  // 6 rows × 2 channels
        var y = [Float](repeating: 0, count: 12)
        let cache = y.withUnsafeMutableBufferPointer {
            BatchNorm.forwardTraining(
                x, rows: 6, channels: 2, gamma: [1, 1], beta: [0, 0], epsilon: 1e-3, output: $0.baseAddress!)
        }
        var mean: [Float] = [0, 0], variance: [Float] = [1, 1]
        mean.withUnsafeMutableBufferPointer { m in
            variance.withUnsafeMutableBufferPointer { v in
                BatchNorm.updateRunning(
                    cache, momentum: 0.9, runningMean: m.baseAddress!, runningVariance: v.baseAddress!, channels: 2)
            }
        }
        // Channel 0: 1, 3, …, 11 → mean 6, unbiased variance 14.
        #expect(abs(mean[0] - 0.6) < 1e-6 && abs(variance[0] - (0.9 + 0.1 * 14)) < 1e-5)
        var out = [Float](repeating: 0, count: 12)
        out.withUnsafeMutableBufferPointer {
            BatchNorm.forwardInference(
                x, rows: 6, channels: 2, gamma: [2, 1], beta: [1, 0], runningMean: [6, 35],
                runningVariance: [14, 350], epsilon: 1e-3, output: $0.baseAddress!)
        }
        #expect(abs(out[0] - (2 * (1 - 6) / (14 + 1e-3).squareRoot() + 1)) < 1e-5)
    }
}
