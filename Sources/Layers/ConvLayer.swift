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

    public init(
        name: String, inChannels: Int, filters: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
        dilation: (Int, Int) = (1, 1), padding: Padding, activation: Activation
    ) {
        self.name = name
        self.filters = filters
        kernelSize = kernel
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
        self.activation = activation
        self.kernel = Parameter("\(name).kernel", shape: [kernel.0, kernel.1, inChannels, filters])
        bias = Parameter("\(name).bias", shape: [filters])
    }

    public var parameters: [Parameter] { [kernel, bias] }

    func geometry(_ shape: [Int]) -> Conv2D {
        precondition(
            shape.count == 4 && shape[3] == kernel.shape[2],
            "\(name): expected [B, T, F, \(kernel.shape[2])], got \(shape)")
        return Conv2D(
            rows: ConvAxis(
                input: shape[1], kernel: kernelSize.0, stride: stride.0, dilation: dilation.0, padding: padding),
            cols: ConvAxis(
                input: shape[2], kernel: kernelSize.1, stride: stride.1, dilation: dilation.1, padding: padding),
            inChannels: shape[3], outChannels: filters)
    }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        let conv = geometry(x.shape)
        if let plan = TimeConvPlan(conv) {
            let result = try timeForward(x, plan: plan, context)
            if context.training {
                input = x
                output = result
            }
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
                        conv.forward(
                            xs[range.lowerBound * inSize], examples: range.count, weights: w, bias: bv, output: out,
                            scratch: cp.baseAddress!)
                    }
                    if relu { Vector.relu(out, count: range.count * outSize) }
                }
            }
        }
        let result = Tensor(shape: [b, conv.rows.output, conv.cols.output, filters], data: y)
        if context.training {
            input = x
            output = result
        }
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
                            conv.backward(
                                xs[range.lowerBound * inSize], examples: range.count, weights: w,
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
