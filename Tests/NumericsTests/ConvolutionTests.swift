import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Numerics

@Suite("Convolution")
struct ConvolutionTests {
    @Test("Keras/TensorFlow output lengths and padding")
    func shapes() {
        #expect(ConvAxis(input: 49, kernel: 3, stride: 1, padding: .same).output == 49)
        #expect(ConvAxis(input: 49, kernel: 3, stride: 2, padding: .same).output == 25)
        #expect(ConvAxis(input: 49, kernel: 3, stride: 2, padding: .same).padBefore == 1)
        #expect(
            ConvAxis(input: 10, kernel: 3, stride: 2, padding: .same).padBefore == 0,
            "total padding 1: TF puts the odd zero after")
        #expect(
            ConvAxis(input: 10, kernel: 4, stride: 2, padding: .same).padBefore == 1, "total padding 2 splits evenly")
        #expect(ConvAxis(input: 49, kernel: 3, stride: 1, dilation: 2, padding: .valid).output == 45)
        #expect(ConvAxis(input: 20, kernel: 5, stride: 3, padding: .valid).output == 6)
    }

    static func direct(_ conv: Conv2D, _ x: [Float], _ w: [Float], _ b: [Float]) -> [Double] {
        let (oh, ow, ci, co) = (conv.rows.output, conv.cols.output, conv.inChannels, conv.outChannels)
        var y = [Double](repeating: 0, count: oh * ow * co)
        for i in 0..<oh {
            for j in 0..<ow {
                for o in 0..<co {
                    var s = Double(b[o])
                    for ki in 0..<conv.rows.kernel {
                        for kj in 0..<conv.cols.kernel {
                            let r = i * conv.rows.stride + ki * conv.rows.dilation - conv.rows.padBefore
                            let q = j * conv.cols.stride + kj * conv.cols.dilation - conv.cols.padBefore
                            guard r >= 0, r < conv.rows.input, q >= 0, q < conv.cols.input else { continue }
                            for c in 0..<ci {
                                s +=
                                    Double(x[(r * conv.cols.input + q) * ci + c])
                                    * Double(w[((ki * conv.cols.kernel + kj) * ci + c) * co + o])
                            }
                        }
                    }
                    y[(i * ow + j) * co + o] = s
                }
            }
        }
        return y
    }

    static let cases: [Conv2D] = [
        Conv2D(
            rows: ConvAxis(input: 9, kernel: 3, stride: 2, padding: .same),
            cols: ConvAxis(input: 7, kernel: 3, padding: .same), inChannels: 3, outChannels: 4),
        Conv2D(
            rows: ConvAxis(input: 1, kernel: 1, padding: .valid),
            cols: ConvAxis(input: 20, kernel: 3, stride: 1, dilation: 2, padding: .valid), inChannels: 5, outChannels: 2
        ),
        Conv2D(
            rows: ConvAxis(input: 1, kernel: 1, padding: .same),
            cols: ConvAxis(input: 11, kernel: 9, stride: 2, padding: .same), inChannels: 2, outChannels: 3),
    ]

    @Test("im2col + sgemm equals direct convolution (same/valid, strides, dilation, 1-D and 2-D)", arguments: cases)
    func forward(conv: Conv2D) {
        let x = randomArray(conv.rows.input * conv.cols.input * conv.inChannels, seed: 4)
        let w = randomArray(conv.patchSize * conv.outChannels, seed: 5), b = randomArray(conv.outChannels, seed: 6)
        var y = [Float](repeating: 0, count: conv.outputCount)
        var scratch = [Float](repeating: 0, count: conv.rows.output * conv.cols.output * conv.patchSize)
        y.withUnsafeMutableBufferPointer { yp in
            scratch.withUnsafeMutableBufferPointer { sp in
                conv.forward(x, weights: w, bias: b, output: yp.baseAddress!, scratch: sp.baseAddress!)
            }
        }
        let want = Self.direct(conv, x, w, b)
        for i in 0..<y.count { #expect(abs(Double(y[i]) - want[i]) < 1e-5, "output \(i)") }
    }

    @Test("backward matches central finite differences of a scalar loss (Double reference)", arguments: cases)
    func backward(conv: Conv2D) {
        let x = randomArray(conv.rows.input * conv.cols.input * conv.inChannels, seed: 7)
        let w = randomArray(conv.patchSize * conv.outChannels, seed: 8), b = randomArray(conv.outChannels, seed: 9)
        let g = randomArray(conv.outputCount, seed: 10)  // loss = Σ g ⊙ y
        var dw = [Float](repeating: 0, count: w.count), db = [Float](repeating: 0, count: b.count),
            dx = [Float](repeating: 0, count: x.count)
        var scratch = [Float](repeating: 0, count: 2 * conv.rows.output * conv.cols.output * conv.patchSize)
        dw.withUnsafeMutableBufferPointer { dwp in
            db.withUnsafeMutableBufferPointer { dbp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        conv.backward(
                            x, weights: w, outputGradient: g, weightGradient: dwp.baseAddress!,
                            biasGradient: dbp.baseAddress!,
                            inputGradient: dxp.baseAddress!, scratch: sp.baseAddress!)
                    }
                }
            }
        }
        func loss(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            zip(Self.direct(conv, x, w, b), g).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        // The loss is linear in each argument, so a central difference of h = 1e-2 is exact up to rounding.
        let h: Float = 1e-2, tolerance = 1e-3
        for i in stride(from: 0, to: w.count, by: max(1, w.count / 17)) {
            var wp = w, wm = w
            wp[i] += h
            wm[i] -= h
            #expect(abs((loss(x, wp, b) - loss(x, wm, b)) / Double(2 * h) - Double(dw[i])) < tolerance, "dW[\(i)]")
        }
        for i in stride(from: 0, to: x.count, by: max(1, x.count / 17)) {
            var xp = x, xm = x
            xp[i] += h
            xm[i] -= h
            #expect(abs((loss(xp, w, b) - loss(xm, w, b)) / Double(2 * h) - Double(dx[i])) < tolerance, "dX[\(i)]")
        }
        for o in 0..<b.count {
            var bp = b, bm = b
            bp[o] += h
            bm[o] -= h
            #expect(abs((loss(x, w, bp) - loss(x, w, bm)) / Double(2 * h) - Double(db[o])) < tolerance, "dB[\(o)]")
        }
    }
}
