import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

@Suite("Optimisers and schedules")
struct OptimizerTests {
    @Test("kws_streaming's exp schedule: 1e-3 → 2e-5 over 80,000 steps (Docs/students.md §3)")
    func exponential() {
        let s = LearningRateSchedule.exponential(initial: 1e-3, final: 2e-5, steps: 80_000)
        #expect(abs(s.rate(step: 80_000) - 2e-5) < 1e-12)
        // The values Docs/students.md quotes at 20k / 40k / 60k steps.
        #expect(abs(s.rate(step: 20_000) - 3.76e-4) < 0.01e-4)
        #expect(abs(s.rate(step: 40_000) - 1.41e-4) < 0.01e-4)
        #expect(abs(s.rate(step: 60_000) - 5.32e-5) < 0.01e-5)
        let w = LearningRateSchedule.warmupCosine(peak: 1, final: 0, warmup: 10, steps: 110)
        #expect(
            w.rate(step: 5) == 0.5 && w.rate(step: 10) == 1 && abs(w.rate(step: 60) - 0.5) < 1e-12
                && abs(w.rate(step: 110)) < 1e-12)
    }

    @Test("Adam's first steps equal the Keras formulas worked by hand")
    func adam() {
        var p: [Float] = [1, -2], opt = Adam()
        let g: [Float] = [0.5, -0.25]
        p.withUnsafeMutableBufferPointer { pp in
            g.withUnsafeBufferPointer { gg in opt.update([pp], gradients: [gg], lr: 0.1) }
        }
        // Step 1: m = 0.1 g, v = 0.001 g², lr_t = 0.1 · sqrt(0.001) / 0.1 → update ≈ lr · sign(g).
        let lrT = 0.1 * (0.001 as Double).squareRoot() / 0.1
        for i in 0..<2 {
            let m = 0.1 * Double(g[i]), v = 0.001 * Double(g[i]) * Double(g[i])
            let want = Double([1, -2][i]) - lrT * m / (v.squareRoot() + 1e-8)
            #expect(abs(Double(p[i]) - want) < 1e-6)
        }
        #expect(opt.step == 1)
    }

    @Test("momentum SGD accumulates velocity; global-norm clipping scales all gradients together")
    func sgdAndClipping() {
        var p: [Float] = [1], opt = MomentumSGD(momentum: 0.9)
        for _ in 0..<2 {
            p.withUnsafeMutableBufferPointer { pp in
                [Float(1)].withUnsafeBufferPointer { opt.update([pp], gradients: [$0], lr: 0.1) }
            }
        }
        #expect(abs(p[0] - (1 - 0.1 - 0.19)) < 1e-6)
        var a: [Float] = [3, 0], b: [Float] = [0, 4]
        let norm = a.withUnsafeMutableBufferPointer { ap in
            b.withUnsafeMutableBufferPointer { bp in clipGlobalNorm([ap, bp], maxNorm: 1) }
        }
        #expect(norm == 5 && abs(a[0] - 0.6) < 1e-6 && abs(b[1] - 0.8) < 1e-6)
    }
}
