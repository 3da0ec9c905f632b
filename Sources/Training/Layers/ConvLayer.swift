import Foundation
import Numerics

/// Keras Conv2D over [B, T, F, C] (time first, channels last) with bias and a fused activation.
/// Weights [KH, KW, Cin, Cout]. The batch runs in chunks: each chunk's im2col rows go through one sgemm.
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
        let b = x.batch, inSize = x.exampleSize, positions = conv.rows.output * conv.cols.output
        let outSize = positions * filters, patch = conv.patchSize
        var y = uninitializedFloats(b * outSize)
        let w = kernel.value, bv = bias.value, f = filters, relu = activation == .relu
        try x.data.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let xs = SharedInput(xp.baseAddress!), ys = SharedBuffer(yp.baseAddress!)
                try context.forEachChunk(b) { _, range in
                    let rows = range.count * positions
                    var cols = uninitializedFloats(rows * patch)
                    cols.withUnsafeMutableBufferPointer { cp in
                        for (k, e) in range.enumerated() { conv.im2col(xs[e * inSize], into: cp.baseAddress! + k * positions * patch) }
                        let out = ys[range.lowerBound * outSize]
                        for r in 0..<rows { (out + r * f).update(from: bv, count: f) }
                        BLAS.gemm(m: rows, n: f, k: patch, a: cp.baseAddress!, lda: patch, b: w, ldb: f,
                                  beta: 1, c: out, ldc: f)
                        if relu { for i in 0..<(rows * f) where out[i] < 0 { out[i] = 0 } }
                    }
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
                    let xs = SharedInput(xp.baseAddress!), gs = SharedInput(gp.baseAddress!)
                    let dxs = wantsDx ? SharedBuffer(dxp.baseAddress!) : nil
                    return try context.sumOverChunks(b, width: wCount + f) { range, acc in
                        let rows = range.count * positions
                        var cols = uninitializedFloats(rows * patch)
                        cols.withUnsafeMutableBufferPointer { cp in
                            for (k, e) in range.enumerated() { conv.im2col(xs[e * inSize], into: cp.baseAddress! + k * positions * patch) }
                            let dyc = gs[range.lowerBound * outSize]
                            BLAS.gemm(transA: true, m: patch, n: f, k: rows, a: cp.baseAddress!, lda: patch, b: dyc, ldb: f,
                                      beta: 0, c: acc.baseAddress!, ldc: f)
                            for r in 0..<rows { for o in 0..<f { acc[wCount + o] += dyc[r * f + o] } }
                            if let dxs {
                                // Reuse the im2col buffer for dcols = dY · Wᵀ.
                                BLAS.gemm(transB: true, m: rows, n: patch, k: f, a: dyc, lda: f, b: w, ldb: f,
                                          c: cp.baseAddress!, ldc: patch)
                                for (k, e) in range.enumerated() {
                                    conv.col2im(cp.baseAddress! + k * positions * patch, into: dxs[e * inSize])
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
