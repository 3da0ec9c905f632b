import Foundation
import Numerics

extension Op {
    /// ReduceSum (axes as input, opset 13), ReduceMean and ReduceMax (axes as attribute, opsets ≤ 17).
    func reduce() throws -> TensorValue {
        let (shape, x) = try floats(0)
        let rank = shape.count
        var raw: [Int]?
        if node.opType == "ReduceSum" {
            raw = optionalInput(1) == nil ? nil : try integers(1)
        } else {
            raw = try ints("axes")
        }
        let axes = Set(try (raw ?? Array(0..<rank)).map { try axis($0, rank: rank) })
        let keep = try int("keepdims", 1) != 0
        let outFull = (0..<rank).map { axes.contains($0) ? 1 : shape[$0] }
        let n = try count(outFull)
        let mean = node.opType == "ReduceMean", max = node.opType == "ReduceMax"
        var out = [Float](repeating: max ? -.infinity : 0, count: n)
        let outStrides = TensorValue.strides(outFull)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<x.count {
            var o = 0
            for d in 0..<rank where !axes.contains(d) { o += index[d] * outStrides[d] }
            out[o] = max ? Swift.max(out[o], x[i]) : out[o] + x[i]
            TensorValue.advance(&index, in: shape)
        }
        if mean {
            let k = Float(axes.reduce(1) { $0 * shape[$1] })
            for i in out.indices { out[i] /= k }
        }
        let outShape = keep ? outFull : (0..<rank).filter { !axes.contains($0) }.map { shape[$0] }
        return TensorValue(shape: outShape, floats: out)
    }

    /// Softmax over one axis (opset 13 semantics).
    func softmax() throws -> TensorValue {
        let (shape, x) = try floats(0)
        let a = try axis(try int("axis", -1), rank: shape.count)
        let n = shape[a], inner = shape[(a + 1)...].reduce(1, *), outer = shape[..<a].reduce(1, *)
        var y = x
        for o in 0..<outer {
            for k in 0..<inner {
                let base = o * n * inner + k
                var m = -Float.infinity
                for i in 0..<n { m = Swift.max(m, x[base + i * inner]) }
                var s: Float = 0
                for i in 0..<n {
                    let e = Foundation.exp(x[base + i * inner] - m)
                    y[base + i * inner] = e
                    s += e
                }
                for i in 0..<n { y[base + i * inner] /= s }
            }
        }
        return TensorValue(shape: shape, floats: y)
    }

    /// MatMul with numpy semantics (batch dimensions broadcast).
    func matmul() throws -> TensorValue {
        let (sa, a) = try floats(0), (sb, b) = try floats(1)
        guard sa.count >= 2, sb.count >= 2 else { throw fail("MatMul of \(sa) and \(sb); expected rank ≥ 2") }
        let m = sa[sa.count - 2], k = sa[sa.count - 1], n = sb[sb.count - 1]
        guard sb[sb.count - 2] == k else { throw fail("MatMul of \(sa) and \(sb)") }
        let batchA = Array(sa.dropLast(2)), batchB = Array(sb.dropLast(2))
        let batch = try broadcast(batchA, batchB)
        let outShape = batch + [m, n]
        let total = try count(outShape)
        var out = [Float](repeating: 0, count: total)
        if batchB.reduce(1, *) == 1 {
            // Every batch of A times one B: one product with the batches stacked as rows.
            let rows = batchA.reduce(1, *) * m
            guard rows * k == a.count else { throw fail("MatMul of \(sa) and \(sb)") }
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        BLAS.gemm(
                            m: rows, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n,
                            c: op.baseAddress!, ldc: n)
                    }
                }
            }
            return TensorValue(shape: outShape, floats: out)
        }
        let rank = batch.count
        func strides(_ s: [Int]) -> [Int] { TensorValue.broadcastStrides(s, rank: rank) }
        let stA = strides(batchA), stB = strides(batchB)
        let batches = batch.reduce(1, *)
        var index = [Int](repeating: 0, count: rank)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    for p in 0..<batches {
                        var ia = 0, ib = 0
                        for d in 0..<rank {
                            ia += index[d] * stA[d]
                            ib += index[d] * stB[d]
                        }
                        BLAS.gemm(
                            m: m, n: n, k: k, a: ap.baseAddress! + ia * m * k, lda: k,
                            b: bp.baseAddress! + ib * k * n, ldb: n, c: op.baseAddress! + p * m * n, ldc: n)
                        TensorValue.advance(&index, in: batch)
                    }
                }
            }
        }
        return TensorValue(shape: outShape, floats: out)
    }

    /// Gemm: alpha · op(A) · op(B) + beta · C, with C broadcast to [M, N].
    func gemm() throws -> TensorValue {
        let (sa, a) = try floats(0), (sb, b) = try floats(1)
        guard sa.count == 2, sb.count == 2 else { throw fail("Gemm of \(sa) and \(sb); expected matrices") }
        let ta = try int("transA", 0) != 0, tb = try int("transB", 0) != 0
        let alpha = try float("alpha", 1), beta = try float("beta", 1)
        let m = ta ? sa[1] : sa[0], k = ta ? sa[0] : sa[1]
        let kb = tb ? sb[1] : sb[0], n = tb ? sb[0] : sb[1]
        guard k == kb else { throw fail("Gemm of \(sa) and \(sb)") }
        var out = [Float](repeating: 0, count: try count([m, n]))
        var betaUsed: Float = 0
        if optionalInput(2) != nil {
            let (sc, c) = try floats(2)
            let full = try broadcast(sc, [m, n])
            guard full == [m, n] else { throw fail("bias \(sc) for [\(m), \(n)]") }
            let padded = [Int](repeating: 1, count: 2 - sc.count) + sc
            for i in 0..<m {
                for j in 0..<n { out[i * n + j] = c[(padded[0] == 1 ? 0 : i) * padded[1] + (padded[1] == 1 ? 0 : j)] }
            }
            betaUsed = beta
        }
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    BLAS.gemm(
                        transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: sa[1],
                        b: bp.baseAddress!, ldb: sb[1], beta: betaUsed, c: op.baseAddress!, ldc: n)
                }
            }
        }
        return TensorValue(shape: [m, n], floats: out)
    }

    /// Conv with one or two spatial axes, group 1, explicit pads (no auto_pad), by im2col and one sgemm per
    /// example.
    func conv() throws -> TensorValue {
        let (sx, x) = try floats(0), (sw, w) = try floats(1)
        guard sx.count == 3 || sx.count == 4, sw.count == sx.count, sw[1] == sx[1] else {
            throw fail(
                "Conv of \(sx) with weights \(sw); expected [N, C, …] and [M, C, …] with 1 or 2 spatial axes")
        }
        guard try int("group", 1) == 1 else { throw fail("only group 1 is supported") }
        guard try string("auto_pad", "NOTSET") == "NOTSET" else { throw fail("only explicit pads are supported") }
        let spatial = sx.count - 2
        let kernel = Array(sw[2...])
        if let ks = try ints("kernel_shape"), ks != kernel { throw fail("kernel_shape \(ks); the weights are \(sw)") }
        let strides = try ints("strides") ?? [Int](repeating: 1, count: spatial)
        let dilations = try ints("dilations") ?? [Int](repeating: 1, count: spatial)
        let pads = try ints("pads") ?? [Int](repeating: 0, count: 2 * spatial)
        guard strides.count == spatial, dilations.count == spatial, pads.count == 2 * spatial,
            strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }), pads.allSatisfy({ $0 >= 0 })
        else { throw fail("strides \(strides), dilations \(dilations), pads \(pads)") }
        // As 2-D: (height, width), a 1-D convolution having height 1.
        let h = spatial == 2 ? sx[2] : 1, wd = sx[sx.count - 1]
        let kh = spatial == 2 ? kernel[0] : 1, kw = kernel[spatial - 1]
        let sh = spatial == 2 ? strides[0] : 1, sw2 = strides[spatial - 1]
        let dh = spatial == 2 ? dilations[0] : 1, dw = dilations[spatial - 1]
        let ph0 = spatial == 2 ? pads[0] : 0, pw0 = pads[spatial - 1]
        let ph1 = spatial == 2 ? pads[2] : 0, pw1 = pads[2 * spatial - 1]
        let oh = (h + ph0 + ph1 - dh * (kh - 1) - 1) / sh + 1, ow = (wd + pw0 + pw1 - dw * (kw - 1) - 1) / sw2 + 1
        guard oh >= 1, ow >= 1 else { throw fail("no output positions for \(sx) with kernel \(kernel)") }
        let nb = sx[0], c = sx[1], mOut = sw[0], patch = c * kh * kw, positions = oh * ow
        var bias = [Float](repeating: 0, count: mOut)
        if optionalInput(2) != nil {
            let (sbias, bv) = try floats(2)
            guard sbias == [mOut] else { throw fail("bias \(sbias) for \(mOut) filters") }
            bias = bv
        }
        let outShape = spatial == 2 ? [nb, mOut, oh, ow] : [nb, mOut, ow]
        var out = [Float](repeating: 0, count: try count(outShape))
        var cols = [Float](repeating: 0, count: try count([patch, positions]))
        for e in 0..<nb {
            let xe = e * c * h * wd
            for ch in 0..<c {
                for i in 0..<kh {
                    for j in 0..<kw {
                        let row = (ch * kh + i) * kw + j
                        for y in 0..<oh {
                            let iy = y * sh - ph0 + i * dh
                            let base = row * positions + y * ow
                            if iy < 0 || iy >= h {
                                for xo in 0..<ow { cols[base + xo] = 0 }
                                continue
                            }
                            let src = xe + (ch * h + iy) * wd
                            for xo in 0..<ow {
                                let ix = xo * sw2 - pw0 + j * dw
                                cols[base + xo] = ix >= 0 && ix < wd ? x[src + ix] : 0
                            }
                        }
                    }
                }
            }
            out.withUnsafeMutableBufferPointer { op in
                let o = op.baseAddress! + e * mOut * positions
                for f in 0..<mOut { (o + f * positions).update(repeating: bias[f], count: positions) }
                w.withUnsafeBufferPointer { wp in
                    cols.withUnsafeBufferPointer { cp in
                        BLAS.gemm(
                            m: mOut, n: positions, k: patch, a: wp.baseAddress!, lda: patch, b: cp.baseAddress!,
                            ldb: positions, beta: 1, c: o, ldc: positions)
                    }
                }
            }
        }
        return TensorValue(shape: outShape, floats: out)
    }

    /// GRU (layout 0, no sequence lengths or initial state), forward, reverse or bidirectional, with
    /// `linear_before_reset = 1` (Keras's `reset_after`, the only form tkd exports), run by `Numerics.GRU`.
    func gru() throws -> [TensorValue] {
        let (sx, x) = try floats(0), (sw, w) = try floats(1), (sr, r) = try floats(2)
        guard optionalInput(4) == nil, optionalInput(5) == nil else {
            throw fail("sequence_lens and initial_h are not supported")
        }
        guard try int("layout", 0) == 0, try int("linear_before_reset", 0) == 1 else {
            throw fail("only layout 0 with linear_before_reset 1 is supported")
        }
        // Non-default `activations` are a list of strings, which the reader refuses when it loads the model.
        if node.attribute("clip") != nil { throw fail("clip is not supported") }
        let direction = try string("direction", "forward")
        let dirs = direction == "bidirectional" ? 2 : 1
        guard ["forward", "reverse", "bidirectional"].contains(direction) else {
            throw fail("direction '\(direction)'")
        }
        let u = try int("hidden_size", 0)
        guard sx.count == 3, sw == [dirs, 3 * u, sx[2]], sr == [dirs, 3 * u, u], u > 0 else {
            throw fail("X \(sx), W \(sw), R \(sr) for hidden_size \(u) and \(dirs) direction(s)")
        }
        var bias = [Float](repeating: 0, count: dirs * 6 * u)
        if optionalInput(3) != nil {
            let (sb, bv) = try floats(3)
            guard sb == [dirs, 6 * u] else { throw fail("B \(sb); expected [\(dirs), \(6 * u)]") }
            bias = bv
        }
        let t = sx[0], nb = sx[1], inputs = sx[2]
        guard t >= 1 else { throw fail("an empty sequence") }
        // [T, B, in] → [B, T, in] for Numerics.GRU.
        var xb = [Float](repeating: 0, count: x.count)
        for s in 0..<t {
            for e in 0..<nb {
                for i in 0..<inputs { xb[(e * t + s) * inputs + i] = x[(s * nb + e) * inputs + i] }
            }
        }
        let cell = GRU(inputs: inputs, units: u)
        var y = [Float](repeating: 0, count: try count([t, dirs, nb, u]))
        var yh = [Float](repeating: 0, count: dirs * nb * u)
        for d in 0..<dirs {
            let reverse = direction == "reverse" || d == 1
            // ONNX W [3u, in] (gates z, r, h) → Keras kernel [in, 3u]; R likewise.
            var kernel = [Float](repeating: 0, count: inputs * 3 * u),
                recurrent = [Float](repeating: 0, count: u * 3 * u)
            for g in 0..<(3 * u) {
                for i in 0..<inputs { kernel[i * 3 * u + g] = w[(d * 3 * u + g) * inputs + i] }
                for i in 0..<u { recurrent[i * 3 * u + g] = r[(d * 3 * u + g) * u + i] }
            }
            let b = Array(bias[(d * 6 * u)..<((d + 1) * 6 * u)])
            let cache = xb.withUnsafeBufferPointer { xp in
                kernel.withUnsafeBufferPointer { kp in
                    recurrent.withUnsafeBufferPointer { rp in
                        b.withUnsafeBufferPointer { bp in
                            cell.forward(
                                xp.baseAddress!, batch: nb, steps: t, kernel: kp.baseAddress!,
                                recurrent: rp.baseAddress!,
                                bias: bp.baseAddress!, reverse: reverse)
                        }
                    }
                }
            }
            let h = cache.outputs  // [B, T, u]
            for s in 0..<t {
                for e in 0..<nb {
                    for k in 0..<u { y[((s * dirs + d) * nb + e) * u + k] = h[(e * t + s) * u + k] }
                }
            }
            let last = reverse ? 0 : t - 1
            for e in 0..<nb { for k in 0..<u { yh[(d * nb + e) * u + k] = h[(e * t + last) * u + k] } }
        }
        return [TensorValue(shape: [t, dirs, nb, u], floats: y), TensorValue(shape: [dirs, nb, u], floats: yh)]
    }
}
