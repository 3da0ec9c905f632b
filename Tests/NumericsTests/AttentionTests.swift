import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

@Suite("Attention")
struct AttentionTests {
    @Test("query attention: parameter counts of Att-RNN (1 head) and MHAtt-RNN (4 heads) over 256-wide H")
    func counts() {
        #expect(QueryAttention(width: 256, heads: 1).parameterCount == 65_792)
        #expect(QueryAttention(width: 256, heads: 4).parameterCount == 263_168)
    }

    @Test("query attention forward/backward: weights sum to 1, gradients match finite differences", arguments: [1, 3])
    func queryAttention(heads: Int) {
        let (b, t, d) = (2, 5, 3)
        let att = QueryAttention(width: d, heads: heads)
        let h = randomArray(b * t * d, seed: 81), w = randomArray(heads * d * d, seed: 82),
            qb = randomArray(heads * d, seed: 83)
        let up = randomArray(b * heads * d, seed: 84)
        let cache = att.forward(h, batch: b, steps: t, queryWeights: w, queryBiases: qb)
        for row in 0..<(b * heads) { #expect(abs(cache.weights[(row * t)..<((row + 1) * t)].reduce(0, +) - 1) < 1e-5) }
        func loss(_ h: [Float], _ w: [Float], _ qb: [Float]) -> Double {
            zip(att.forward(h, batch: b, steps: t, queryWeights: w, queryBiases: qb).outputs, up).reduce(0) {
                $0 + Double($1.0) * Double($1.1)
            }
        }
        var dW = [Float](repeating: 0, count: w.count), dB = [Float](repeating: 0, count: qb.count),
            dH = [Float](repeating: 0, count: h.count)
        dW.withUnsafeMutableBufferPointer { a in
            dB.withUnsafeMutableBufferPointer { c in
                dH.withUnsafeMutableBufferPointer { e in
                    att.backward(
                        cache, input: h, outputGradient: up, queryWeights: w, weightGradient: a.baseAddress!,
                        biasGradient: c.baseAddress!, inputGradient: e.baseAddress!)
                }
            }
        }
        expectFiniteDifferences("dW", w, dW) { loss(h, $0, qb) }
        expectFiniteDifferences("dBias", qb, dB) { loss(h, w, $0) }
        expectFiniteDifferences("dH", h, dH) { loss($0, w, qb) }
    }

    @Test("temporal attention KD: KL(a_T ‖ a_S) is 0 at a_S = a_T; gradients match finite differences")
    func kd() {
        let (b, t, d) = (2, 6, 4)
        let c = randomArray(b * t * d, seed: 91), q = randomArray(d, seed: 92)
        var target = randomArray(b * t, seed: 93).map { abs($0) + 0.05 }
        for i in 0..<b {
            let s = target[(i * t)..<((i + 1) * t)].reduce(0, +)
            for j in 0..<t { target[i * t + j] /= s }
        }
        func run(_ c: [Float], _ q: [Float], _ target: [Float]) -> (TemporalAttentionKD.Result, [Float], [Float]) {
            var dC = [Float](repeating: 0, count: c.count), dQ = [Float](repeating: 0, count: q.count)
            let r = dC.withUnsafeMutableBufferPointer { a in
                dQ.withUnsafeMutableBufferPointer { e in
                    TemporalAttentionKD.lossAndGradients(
                        context: c, batch: b, steps: t, width: d, query: q, temperature: 0.5,
                        target: target, contextGradient: a.baseAddress!, queryGradient: e.baseAddress!)
                }
            }
            return (r, dC, dQ)
        }
        let (result, dC, dQ) = run(c, q, target)
        #expect(result.loss > 0)
        #expect(abs(run(c, q, result.studentAttention).0.loss) < 1e-6, "KL of a distribution with itself")
        expectFiniteDifferences("dC", c, dC) { run($0, q, target).0.loss }
        expectFiniteDifferences("dQ", q, dQ) { run(c, $0, target).0.loss }
    }
}
