import Foundation

/// Keras padding modes (kws_streaming's layers use Keras semantics; Docs/students.md §4).
public enum Padding: String, Sendable, Codable {
    /// Output length ceil(n / stride); zeros split with the smaller half before (TensorFlow's rule).
    case same
    /// Only positions where the dilated kernel fits: ceil((n − dilation·(k−1)) / stride).
    case valid
}

/// One spatial axis of a convolution: input length, kernel, stride, dilation, padding.
public struct ConvAxis: Sendable, Equatable {
    public var input: Int, kernel: Int, stride: Int, dilation: Int, padding: Padding

    public init(input: Int, kernel: Int, stride: Int = 1, dilation: Int = 1, padding: Padding) {
        precondition(input > 0 && kernel > 0 && stride > 0 && dilation > 0, "convolution sizes must be positive")
        self.input = input
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.padding = padding
    }

    /// The dilated kernel's extent.
    public var span: Int { dilation * (kernel - 1) + 1 }

    public var output: Int {
        switch padding {
        case .same: return (input + stride - 1) / stride
        case .valid: return input >= span ? (input - span) / stride + 1 : 0
        }
    }

    /// Zeros added before the input (TensorFlow: total = max((out−1)·stride + span − n, 0), before = total / 2).
    public var padBefore: Int {
        guard padding == .same else { return 0 }
        return max((output - 1) * stride + span - input, 0) / 2
    }
}

/// 2-D convolution of channels-last tensors by im2col + sgemm. A 1-D convolution is the case H = 1.
///
/// Shapes: input [H, W, Cin] per example, weights [KH, KW, Cin, Cout] (Keras layout), output [OH, OW, Cout].
public struct Conv2D: Sendable, Equatable {
    public let rows: ConvAxis
    public let cols: ConvAxis
    public let inChannels: Int
    public let outChannels: Int

    public init(rows: ConvAxis, cols: ConvAxis, inChannels: Int, outChannels: Int) {
        self.rows = rows
        self.cols = cols
        self.inChannels = inChannels
        self.outChannels = outChannels
    }

    public var outputCount: Int { rows.output * cols.output * outChannels }
    /// Columns of the im2col matrix: KH · KW · Cin.
    public var patchSize: Int { rows.kernel * cols.kernel * inChannels }

    /// Visits the im2col matrix one tap at a time, in matrix order: for each output position and kernel
    /// tap, the offset of its `Cin`-wide slot in the matrix and the offset of the input pixel it reads
    /// (nil where the kernel reaches into the padding).
    @inline(__always)
    func forEachTap(_ body: (_ slot: Int, _ pixel: Int?) -> Void) {
        let c = inChannels
        var slot = 0
        for i in 0..<rows.output {
            for j in 0..<cols.output {
                for ki in 0..<rows.kernel {
                    let r = i * rows.stride + ki * rows.dilation - rows.padBefore
                    for kj in 0..<cols.kernel {
                        let q = j * cols.stride + kj * cols.dilation - cols.padBefore
                        let inside = r >= 0 && r < rows.input && q >= 0 && q < cols.input
                        body(slot, inside ? (r * cols.input + q) * c : nil)
                        slot += c
                    }
                }
            }
        }
    }

    /// The im2col matrix [OH·OW, KH·KW·Cin] of one example (zeros where the kernel reaches padding).
    public func im2col(_ x: UnsafePointer<Float>, into m: UnsafeMutablePointer<Float>) {
        let c = inChannels
        if c < 8 {
            // Few channels (a first convolution): element copies beat a memcpy call per tap.
            forEachTap { slot, pixel in
                if let pixel {
                    for t in 0..<c { m[slot + t] = x[pixel + t] }
                } else {
                    for t in 0..<c { m[slot + t] = 0 }
                }
            }
            return
        }
        forEachTap { slot, pixel in
            if let pixel {
                (m + slot).update(from: x + pixel, count: c)
            } else {
                (m + slot).update(repeating: 0, count: c)
            }
        }
    }

    /// Adds the im2col gradient back onto the input gradient (the adjoint of `im2col`).
    public func col2im(_ m: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        let c = inChannels
        if c < 8 {
            forEachTap { slot, pixel in
                guard let pixel else { return }
                for t in 0..<c { dx[pixel + t] += m[slot + t] }
            }
            return
        }
        forEachTap { slot, pixel in
            guard let pixel else { return }
            Vector.add(m + slot, into: dx + pixel, count: c)
        }
    }

    /// y = conv(x, w) + bias for `examples` consecutive examples (their im2col rows go through one sgemm);
    /// `scratch` holds examples · OH·OW·KH·KW·Cin floats.
    public func forward(
        _ x: UnsafePointer<Float>, examples n: Int = 1, weights w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        let positions = rows.output * cols.output, inSize = rows.input * cols.input * inChannels
        for e in 0..<n { im2col(x + e * inSize, into: scratch + e * positions * patchSize) }
        if let bias {
            for i in 0..<(n * positions) { (y + i * outChannels).update(from: bias, count: outChannels) }
        }
        BLAS.gemm(
            m: n * positions, n: outChannels, k: patchSize, a: scratch, lda: patchSize, b: w, ldb: outChannels,
            beta: bias == nil ? 0 : 1, c: y, ldc: outChannels)
    }

    /// Gradients of `examples` consecutive examples: dW += colsᵀ·dY, dB += Σ dY, dX += col2im(dY·Wᵀ) (when
    /// asked). `scratch` holds examples · OH·OW·KH·KW·Cin floats (reused for dY·Wᵀ once dW is done).
    public func backward(
        _ x: UnsafePointer<Float>, examples n: Int = 1, weights w: UnsafePointer<Float>,
        outputGradient dy: UnsafePointer<Float>, weightGradient dw: UnsafeMutablePointer<Float>,
        biasGradient db: UnsafeMutablePointer<Float>?, inputGradient dx: UnsafeMutablePointer<Float>?,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let positions = rows.output * cols.output, inSize = rows.input * cols.input * inChannels, m = n * positions
        for e in 0..<n { im2col(x + e * inSize, into: scratch + e * positions * patchSize) }
        BLAS.gemm(
            transA: true, m: patchSize, n: outChannels, k: m, a: scratch, lda: patchSize, b: dy, ldb: outChannels,
            beta: 1, c: dw, ldc: outChannels)
        if let db {
            for i in 0..<m { Vector.add(dy + i * outChannels, into: db, count: outChannels) }
        }
        if let dx {
            BLAS.gemm(
                transB: true, m: m, n: patchSize, k: outChannels, a: dy, lda: outChannels, b: w, ldb: outChannels,
                c: scratch, ldc: patchSize)
            for e in 0..<n { col2im(scratch + e * positions * patchSize, into: dx + e * inSize) }
        }
    }
}
