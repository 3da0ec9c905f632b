import Foundation
import Numerics

/// Keras Conv2D over [B, T, F, C] (time first, channels last) with bias and a fused activation.
/// Weights [KH, KW, Cin, Cout]. The batch runs in chunks: each chunk goes through `Conv2D` (im2col, one
/// sgemm), or through one sgemm per tap for kernels that span time only (`TimeConvPlan`).
public final class ConvLayer: Layer {
    public let name: String
    public let kernel: Parameter
    public let bias: Parameter
    public let filters: Int, kernelSize: (Int, Int), stride: (Int, Int), dilation: (Int, Int)
    public let padding: Padding
    public let activation: Activation
    public var needsInputGradient = true
    private var input: Tensor?
    private var output: Tensor?

    public init(name: String, inChannels: Int, filters: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                dilation: (Int, Int) = (1, 1), padding: Padding, activation: Activation) {
        self.name = name
        self.filters = filters; kernelSize = kernel; self.stride = stride; self.dilation = dilation
        self.padding = padding; self.activation = activation
        self.kernel = Parameter("\(name).kernel", shape: [kernel.0, kernel.1, inChannels, filters])
        bias = Parameter("\(name).bias", shape: [filters])
    }

    public var parameters: [Parameter] { [kernel, bias] }

    func geometry(_ shape: [Int]) -> Conv2D {
        precondition(shape.count == 4 && shape[3] == kernel.shape[2],
                     "\(name): expected [B, T, F, \(kernel.shape[2])], got \(shape)")
        return Conv2D(rows: ConvAxis(input: shape[1], kernel: kernelSize.0, stride: stride.0, dilation: dilation.0, padding: padding),
                      cols: ConvAxis(input: shape[2], kernel: kernelSize.1, stride: stride.1, dilation: dilation.1, padding: padding),
                      inChannels: shape[3], outChannels: filters)
    }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let conv = geometry(x.shape)
        if let plan = TimeConvPlan(conv) {
            let result = try timeForward(x, plan: plan, context)
            if context.training { input = x; output = result }
            return result
        }
        let b = x.batch, inSize = x.exampleSize, positions = conv.rows.output * conv.cols.output
        let outSize = positions * filters, patch = conv.patchSize
        var y = uninitializedFloats(b * outSize)
        let w = kernel.value, bv = bias.value, relu = activation == .relu
        try x.data.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let xs = SendableConstPointer(xp.baseAddress!), ys = SendablePointer(yp.baseAddress!)
                try context.forEachChunk(b) { _, range in
                    var cols = uninitializedFloats(range.count * positions * patch)
                    let out = ys[range.lowerBound * outSize]
                    cols.withUnsafeMutableBufferPointer { cp in
                        conv.forward(xs[range.lowerBound * inSize], examples: range.count, weights: w, bias: bv, output: out,
                                     scratch: cp.baseAddress!)
                    }
                    if relu { Vector.relu(out, count: range.count * outSize) }
                }
            }
        }
        let result = Tensor(shape: [b, conv.rows.output, conv.cols.output, filters], data: y)
        if context.training { input = x; output = result }
        return result
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let x = input, let y = output else { preconditionFailure("\(name): backward without a training forward") }
        let conv = geometry(x.shape)
        if let plan = TimeConvPlan(conv) { return try timeBackward(x, y: y, dy: dy, plan: plan, context) }
        let b = x.batch, inSize = x.exampleSize, positions = conv.rows.output * conv.cols.output
        let outSize = positions * filters, patch = conv.patchSize
        let g = activation.backward(dy.data, output: y.data)
        let w = kernel.value
        let wCount = kernel.count, f = filters
        let wantsDx = needsInputGradient
        var dx = [Float](repeating: 0, count: wantsDx ? b * inSize : 0)
        let sums = try x.data.withUnsafeBufferPointer { xp in
            try g.withUnsafeBufferPointer { gp in
                try dx.withUnsafeMutableBufferPointer { dxp in
                    let xs = SendableConstPointer(xp.baseAddress!), gs = SendableConstPointer(gp.baseAddress!)
                    let dxs = wantsDx ? SendablePointer(dxp.baseAddress!) : nil
                    return try context.sumOverChunks(b, width: wCount + f) { range, acc in
                        var cols = uninitializedFloats(range.count * positions * patch)
                        cols.withUnsafeMutableBufferPointer { cp in
                            conv.backward(xs[range.lowerBound * inSize], examples: range.count, weights: w,
                                          outputGradient: gs[range.lowerBound * outSize], weightGradient: acc.baseAddress!,
                                          biasGradient: acc.baseAddress! + wCount, inputGradient: dxs?[range.lowerBound * inSize],
                                          scratch: cp.baseAddress!)
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

/// A convolution whose kernel spans time only (KW = 1, stride and dilation 1 along frequency), as in
/// TC-ResNet and Att-RNN: computed as one sgemm per kernel tap over a chunk's examples laid end to end
/// with their time padding ("shifted GEMM"), instead of im2col. With F frequency positions, rows are
/// (time, frequency) pairs; a tap shifts the rows by dilation·F. Stride > 1 is supported when F = 1
/// (rows strided by the leading dimension).
struct TimeConvPlan {
    let conv: Conv2D
    let f: Int            // frequency positions
    let padded: Int       // padded time length per example (a multiple of the stride)
    let stride: Int
    let step: Int         // row shift per tap: dilation · F

    init?(_ conv: Conv2D) {
        let r = conv.rows
        guard conv.cols.kernel == 1, conv.cols.stride == 1, conv.cols.dilation == 1,
              r.stride == 1 || conv.cols.input == 1, r.output > 0 else { return nil }
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
                                    BLAS.gemm(m: rows, n: f, k: cin, a: xq.baseAddress! + k * plan.step * cin, lda: plan.stride * cin,
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
                                for e in 0..<n { (gsb + e * perExample * f).update(from: gs[(range.lowerBound + e) * outSize], count: outSize) }
                                for k in 0..<taps {
                                    BLAS.gemm(transA: true, m: cin, n: f, k: rows, a: xq.baseAddress! + k * plan.step * cin,
                                              lda: plan.stride * cin, b: gsb, ldb: f, beta: 0, c: acc.baseAddress! + k * cin * f, ldc: f)
                                }
                                for r in 0..<rows { Vector.add(gsb + r * f, into: acc.baseAddress! + wCount, count: f) }
                                guard let dxs else { return }
                                // Reuse the padded input buffer for dXpad.
                                let dpad = xq.baseAddress!
                                dpad.update(repeating: 0, count: plan.inputRows(n) * cin)
                                w.withUnsafeBufferPointer { wp in
                                    for k in 0..<taps {
                                        BLAS.gemm(transB: true, m: rows, n: cin, k: f, a: gsb, lda: f, b: wp.baseAddress! + k * cin * f,
                                                  ldb: f, beta: 1, c: dpad + k * plan.step * cin, ldc: plan.stride * cin)
                                    }
                                }
                                for e in 0..<n {
                                    dxs[(range.lowerBound + e) * inSize].update(from: dpad + (e * plan.padded + before) * fq * cin,
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
