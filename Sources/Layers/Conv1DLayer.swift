import Foundation
import Numerics

/// PyTorch `nn.Conv1d` on [B, L, Cin] (channels last) → [B, L′, Cout]: stride, zero padding, groups,
/// optional bias, optional weight norm over every axis but the kernel's (`weight_norm(dim=2)`, stored as
/// `parametrizations.weight.original0` g [1, 1, K] and `original1` v [Cout, Cin/g, K]). With
/// `trimToInput` the output keeps only the first L frames (wav2vec 2.0's "same pad" for even kernels).
public final class Conv1DLayer: Layer {
    public let name: String
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, groups: Int
    public let trimToInput: Bool
    /// The plain weight [Cout, Cin/g, K], or nil when weight-normed.
    public let weight: Parameter?
    public let weightG: Parameter?, weightV: Parameter?
    public let bias: Parameter?
    public var needsInputGradient = true
    private var input: Tensor?

    public init(
        name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
        groups: Int = 1, bias: Bool, weightNorm: Bool = false, trimToInput: Bool = false
    ) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "\(name): channels must divide by groups")
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.trimToInput = trimToInput
        let shape = [outChannels, inChannels / groups, kernel]
        if weightNorm {
            weight = nil
            weightG = Parameter("\(name).parametrizations.weight.original0", shape: [1, 1, kernel], fill: 1)
            weightV = Parameter("\(name).parametrizations.weight.original1", shape: shape)
        } else {
            weight = Parameter("\(name).weight", shape: shape)
            weightG = nil
            weightV = nil
        }
        self.bias = bias ? Parameter("\(name).bias", shape: [outChannels]) : nil
    }

    public var parameters: [Parameter] { [weight, weightG, weightV, bias].compactMap { $0 } }

    public func outputLength(_ length: Int) -> Int {
        let full = (length + 2 * padding - kernel) / stride + 1
        return trimToInput ? min(full, length) : full
    }

    /// The weight-norm column norms ‖v[:, :, k]‖ per kernel tap.
    private func tapNorms() -> [Double] {
        guard let v = weightV else { return [] }
        var n = [Double](repeating: 0, count: kernel)
        for i in 0..<v.count { n[i % kernel] += Double(v.value[i]) * Double(v.value[i]) }
        return n.map { $0.squareRoot() }
    }

    /// The effective PyTorch-layout weight [Cout, Cin/g, K].
    public func effectiveWeight() -> [Float] {
        if let weight { return weight.value }
        let (g, v, norms) = (weightG!.value, weightV!.value, tapNorms())
        return (0..<v.count).map { i in Float(Double(g[i % kernel]) * Double(v[i]) / norms[i % kernel]) }
    }

    /// Per group [K·cin, cout] (row (k, c), column o), groups concatenated.
    private func gemmWeight() -> [Float] {
        let w = effectiveWeight(), cin = inChannels / groups, cout = outChannels / groups, k = kernel
        var out = [Float](repeating: 0, count: w.count)
        for g in 0..<groups {
            for o in 0..<cout {
                for ci in 0..<cin {
                    for tap in 0..<k {
                        out[g * k * cin * cout + (tap * cin + ci) * cout + o] = w[((g * cout + o) * cin + ci) * k + tap]
                    }
                }
            }
        }
        return out
    }

    /// The shape facts the parallel loops need (the layer itself is not Sendable).
    struct Geometry: Sendable {
        let inChannels: Int, groups: Int, kernel: Int, stride: Int, padding: Int

        /// im2col of output rows [start, start + rows) of group `g` of one example.
        @inline(__always)
        func gather(
            _ x: UnsafePointer<Float>, length: Int, group g: Int, start: Int, rows: Int,
            into cols: UnsafeMutablePointer<Float>
        ) {
            let cin = inChannels / groups
            for r in 0..<rows {
                for tap in 0..<kernel {
                    let src = (start + r) * stride + tap - padding
                    let dst = cols + (r * kernel + tap) * cin
                    if src >= 0 && src < length {
                        dst.update(from: x + src * inChannels + g * cin, count: cin)
                    } else {
                        dst.update(repeating: 0, count: cin)
                    }
                }
            }
        }
    }

    var geometry: Geometry {
        Geometry(inChannels: inChannels, groups: groups, kernel: kernel, stride: stride, padding: padding)
    }

    private var block: (Int) -> Int {
        let width = kernel * (inChannels / groups)
        return { out in max(1, min(out, (1 << 18) / max(1, width))) }
    }

    public func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor {
        precondition(
            x.shape.count == 3 && x.shape[2] == inChannels, "\(name): expected [B, L, \(inChannels)], got \(x.shape)")
        let length = x.shape[1], out = outputLength(length)
        precondition(out > 0, "\(name): input of \(length) frames is shorter than the kernel")
        let cin = inChannels / groups, cout = outChannels / groups, cOut = outChannels, width = kernel * cin
        let w = gemmWeight(), b = bias?.value, blockRows = block(out), geo = geometry
        var y = uninitializedFloats(x.batch * out * cOut)
        try x.data.withUnsafeBufferPointer { xp in
            try y.withUnsafeMutableBufferPointer { yp in
                let (xs, ys) = (SendableConstPointer(xp.baseAddress!), SendablePointer(yp.baseAddress!))
                try context.forEachChunk(x.batch) { _, range in
                    var cols = uninitializedFloats(blockRows * width)
                    cols.withUnsafeMutableBufferPointer { cp in
                        for e in range {
                            let xe = xs[e * length * geo.inChannels], ye = ys[e * out * cOut]
                            if let b {
                                for r in 0..<out { (ye + r * cOut).update(from: b, count: cOut) }
                            } else {
                                ye.update(repeating: 0, count: out * cOut)
                            }
                            for g in 0..<geo.groups {
                                for start in Swift.stride(from: 0, to: out, by: blockRows) {
                                    let rows = min(blockRows, out - start)
                                    geo.gather(
                                        xe, length: length, group: g, start: start, rows: rows, into: cp.baseAddress!)
                                    w.withUnsafeBufferPointer { wp in
                                        BLAS.gemm(
                                            m: rows, n: cout, k: width, a: cp.baseAddress!, lda: width,
                                            b: wp.baseAddress! + g * width * cout, ldb: cout, beta: 1,
                                            c: ye + start * cOut + g * cout, ldc: cOut)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if context.training { input = x }
        return Tensor(shape: [x.batch, out, cOut], data: y)
    }

    public func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor {
        guard let x = input else { preconditionFailure("\(name): backward without a training forward") }
        let length = x.shape[1], out = outputLength(length)
        let cin = inChannels / groups, cout = outChannels / groups, cOut = outChannels, cIn = inChannels,
            width = kernel * cin
        let w = gemmWeight(), blockRows = block(out), wantInput = needsInputGradient, hasBias = bias != nil,
            geo = geometry
        let wCount = w.count
        var dx = wantInput ? [Float](repeating: 0, count: x.data.count) : []
        let sums = try x.data.withUnsafeBufferPointer { xp in
            try dy.data.withUnsafeBufferPointer { gp in
                try dx.withUnsafeMutableBufferPointer { dxp in
                    let (xs, gs) = (SendableConstPointer(xp.baseAddress!), SendableConstPointer(gp.baseAddress!))
                    let dxs = dxp.baseAddress.map(SendablePointer.init)
                    return try context.sumOverChunks(x.batch, width: wCount + cOut) { range, acc in
                        var cols = uninitializedFloats(blockRows * width)
                        cols.withUnsafeMutableBufferPointer { cp in
                            let c = cp.baseAddress!
                            for e in range {
                                let xe = xs[e * length * cIn], ge = gs[e * out * cOut]
                                if hasBias {
                                    let db = acc.baseAddress! + wCount
                                    for r in 0..<out {
                                        let row = ge + r * cOut
                                        for j in 0..<cOut { db[j] += row[j] }
                                    }
                                }
                                for g in 0..<geo.groups {
                                    for start in Swift.stride(from: 0, to: out, by: blockRows) {
                                        let rows = min(blockRows, out - start)
                                        geo.gather(xe, length: length, group: g, start: start, rows: rows, into: c)
                                        BLAS.gemm(
                                            transA: true, m: width, n: cout, k: rows, a: c, lda: width,
                                            b: ge + start * cOut + g * cout, ldb: cOut, beta: 1,
                                            c: acc.baseAddress! + g * width * cout, ldc: cout)
                                        guard wantInput, let dxs else { continue }
                                        w.withUnsafeBufferPointer { wp in
                                            BLAS.gemm(
                                                transB: true, m: rows, n: width, k: cout,
                                                a: ge + start * cOut + g * cout, lda: cOut,
                                                b: wp.baseAddress! + g * width * cout, ldb: cout, c: c, ldc: width)
                                        }
                                        let dxe = dxs[e * length * cIn]
                                        for r in 0..<rows {
                                            for tap in 0..<geo.kernel {
                                                let src = (start + r) * geo.stride + tap - geo.padding
                                                guard src >= 0 && src < length else { continue }
                                                let d = dxe + src * cIn + g * cin, s = c + (r * geo.kernel + tap) * cin
                                                for j in 0..<cin { d[j] += s[j] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Back to PyTorch's [Cout, Cin/g, K].
        var dW = [Float](repeating: 0, count: wCount)
        for g in 0..<groups {
            for o in 0..<cout {
                for ci in 0..<cin {
                    for tap in 0..<kernel {
                        dW[((g * cout + o) * cin + ci) * kernel + tap] =
                            sums[g * width * cout + (tap * cin + ci) * cout + o]
                    }
                }
            }
        }
        if let weight {
            weight.accumulate(dW[...])
        } else {
            // W = g·v/‖v‖ per tap: dg = Σ dW·v̂, dv = (g/‖v‖)(dW − dg·v̂).
            let (gP, vP, norms) = (weightG!, weightV!, tapNorms())
            var dg = [Double](repeating: 0, count: kernel)
            for i in 0..<wCount { dg[i % kernel] += Double(dW[i]) * Double(vP.value[i]) / norms[i % kernel] }
            for k in 0..<kernel { gP.gradient[k] += Float(dg[k]) }
            for i in 0..<wCount {
                let k = i % kernel, vhat = Double(vP.value[i]) / norms[k]
                vP.gradient[i] += Float(Double(gP.value[k]) / norms[k] * (Double(dW[i]) - dg[k] * vhat))
            }
        }
        if let bias { bias.accumulate(sums[wCount...]) }
        return wantInput ? Tensor(shape: x.shape, data: dx) : Tensor(zeros: [0])
    }
}
