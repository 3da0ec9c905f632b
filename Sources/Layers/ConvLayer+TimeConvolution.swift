import Foundation
import Numerics

/// A convolution whose kernel spans time only (KW = 1, stride and dilation 1 along frequency), as in
/// TC-ResNet and Att-RNN: computed as one sgemm per kernel tap over a chunk's examples laid end to end
/// with their time padding ("shifted GEMM"), instead of im2col. With F frequency positions, rows are
/// (time, frequency) pairs; a tap shifts the rows by dilation·F. Stride > 1 is supported when F = 1
/// (rows strided by the leading dimension).
struct TimeConvPlan {
    let conv: Conv2D
    let f: Int  // frequency positions
    let padded: Int  // padded time length per example (a multiple of the stride)
    let stride: Int
    let step: Int  // row shift per tap: dilation · F

    init?(_ conv: Conv2D) {
        let r = conv.rows
        guard conv.cols.kernel == 1, conv.cols.stride == 1, conv.cols.dilation == 1,
            r.stride == 1 || conv.cols.input == 1, r.output > 0
        else { return nil }
        self.conv = conv
        f = conv.cols.input
        stride = r.stride
        step = r.dilation * f
        let needed = max(r.padBefore + r.input, (r.output - 1) * r.stride + r.span)
        padded = (needed + r.stride - 1) / r.stride * r.stride
    }

    /// Output rows of the stream for `n` examples (junk rows between examples included).
    func streamRows(_ n: Int) -> Int { n * padded / stride * f }
    /// Input rows of the padded stream, with room for the last example's taps.
    func inputRows(_ n: Int) -> Int { n * padded * f + (conv.rows.kernel - 1) * step + stride * f }

    /// Lays `n` examples end to end with their time padding (zeros elsewhere).
    func pad(_ x: UnsafePointer<Float>, examples n: Int, into p: UnsafeMutablePointer<Float>) {
        let c = conv.inChannels, t = conv.rows.input, before = conv.rows.padBefore
        p.update(repeating: 0, count: inputRows(n) * c)
        for e in 0..<n { (p + (e * padded + before) * f * c).update(from: x + e * t * f * c, count: t * f * c) }
    }
}

extension ConvLayer {
    func timeForward(_ x: Tensor, plan: TimeConvPlan, _ context: RunContext) throws -> Tensor {
        let conv = plan.conv, b = x.batch, cin = conv.inChannels, f = filters
        let ot = conv.rows.output, fq = plan.f, inSize = x.exampleSize, outSize = ot * fq * f
        var y = uninitializedFloats(b * outSize)
        let w = kernel.value, bv = bias.value, relu = activation == .relu, taps = conv.rows.kernel
        try x.data.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let xs = SendableConstPointer(xp.baseAddress!), ys = SendablePointer(yp.baseAddress!)
                try context.forEachChunk(b) { _, range in
                    let n = range.count, rows = plan.streamRows(n)
                    var xpad = uninitializedFloats(plan.inputRows(n) * cin)
                    var ystream = uninitializedFloats(rows * f)
                    xpad.withUnsafeMutableBufferPointer { xq in
                        plan.pad(xs[range.lowerBound * inSize], examples: n, into: xq.baseAddress!)
                        ystream.withUnsafeMutableBufferPointer { yq in
                            let out = yq.baseAddress!
                            for r in 0..<rows { (out + r * f).update(from: bv, count: f) }
                            w.withUnsafeBufferPointer { wp in
                                for k in 0..<taps {
                                    BLAS.gemm(
                                        m: rows, n: f, k: cin, a: xq.baseAddress! + k * plan.step * cin,
                                        lda: plan.stride * cin,
                                        b: wp.baseAddress! + k * cin * f, ldb: f, beta: 1, c: out, ldc: f)
                                }
                            }
                            let perExample = plan.padded / plan.stride * fq
                            for e in 0..<n {
                                let dst = ys[(range.lowerBound + e) * outSize]
                                dst.update(from: out + e * perExample * f, count: outSize)
                                if relu { Vector.relu(dst, count: outSize) }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [b, ot, fq, f], data: y)
    }

    func timeBackward(_ x: Tensor, y: Tensor, dy: Tensor, plan: TimeConvPlan, _ context: RunContext) throws -> Tensor {
        let conv = plan.conv, b = x.batch, cin = conv.inChannels, f = filters
        let ot = conv.rows.output, fq = plan.f, inSize = x.exampleSize, outSize = ot * fq * f
        let g = activation.backward(dy.data, output: y.data)
        let w = kernel.value, wCount = kernel.count, taps = conv.rows.kernel, wantsDx = needsInputGradient
        let t = conv.rows.input, before = conv.rows.padBefore
        var dx = wantsDx ? uninitializedFloats(b * inSize) : []
        let sums = try x.data.withUnsafeBufferPointer { xp in
            try g.withUnsafeBufferPointer { gp in
                try dx.withUnsafeMutableBufferPointer { dxp in
                    let xs = SendableConstPointer(xp.baseAddress!), gs = SendableConstPointer(gp.baseAddress!)
                    let dxs = wantsDx ? SendablePointer(dxp.baseAddress!) : nil
                    return try context.sumOverChunks(b, width: wCount + f) { range, acc in
                        let n = range.count, rows = plan.streamRows(n), perExample = plan.padded / plan.stride * fq
                        var xpad = uninitializedFloats(plan.inputRows(n) * cin)
                        var gstream = [Float](repeating: 0, count: rows * f)
                        xpad.withUnsafeMutableBufferPointer { xq in
                            plan.pad(xs[range.lowerBound * inSize], examples: n, into: xq.baseAddress!)
                            gstream.withUnsafeMutableBufferPointer { gq in
                                let gsb = gq.baseAddress!
                                for e in 0..<n {
                                    (gsb + e * perExample * f).update(
                                        from: gs[(range.lowerBound + e) * outSize], count: outSize)
                                }
                                for k in 0..<taps {
                                    BLAS.gemm(
                                        transA: true, m: cin, n: f, k: rows, a: xq.baseAddress! + k * plan.step * cin,
                                        lda: plan.stride * cin, b: gsb, ldb: f, beta: 0,
                                        c: acc.baseAddress! + k * cin * f, ldc: f)
                                }
                                for r in 0..<rows { Vector.add(gsb + r * f, into: acc.baseAddress! + wCount, count: f) }
                                guard let dxs else { return }
                                // Reuse the padded input buffer for dXpad.
                                let dpad = xq.baseAddress!
                                dpad.update(repeating: 0, count: plan.inputRows(n) * cin)
                                w.withUnsafeBufferPointer { wp in
                                    for k in 0..<taps {
                                        BLAS.gemm(
                                            transB: true, m: rows, n: cin, k: f, a: gsb, lda: f,
                                            b: wp.baseAddress! + k * cin * f,
                                            ldb: f, beta: 1, c: dpad + k * plan.step * cin, ldc: plan.stride * cin)
                                    }
                                }
                                for e in 0..<n {
                                    dxs[(range.lowerBound + e) * inSize].update(
                                        from: dpad + (e * plan.padded + before) * fq * cin,
                                        count: t * fq * cin)
                                }
                            }
                        }
                    }
                }
            }
        }
        kernel.accumulate(sums[0..<wCount])
        bias.accumulate(sums[wCount...])
        return wantsDx ? Tensor(shape: x.shape, data: dx) : Tensor(zeros: [0])
    }
}
