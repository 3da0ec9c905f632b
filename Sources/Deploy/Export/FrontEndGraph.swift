import DatasetFormat
import Features
import Foundation

/// The feature preset as ONNX nodes, audio [B, samples] → features [B, frames, coefficients], computing what
/// `Features.FrontEnd` computes.
///
/// Framing, window and DFT are one `Conv` whose filters are the windowed DFT basis (cosine and sine rows of the
/// bins the mel filterbank uses, interleaved), with the hop as its stride; the basis itself is computed in the
/// graph from the bins, the tap positions and the window (`basisNodes`), which runtimes fold at load time.
/// Chosen over the `DFT` / `STFT` operators because: the kws_streaming presets zero-pad a 640-sample frame to a
/// 1024-point DFT, which `STFT` cannot express (its DFT size is the frame length); `Conv` exists in every opset
/// and every runtime and converter (TFLite, NPUs), runs on the same GEMM kernels as the model; and the linear
/// parts of Kaldi's framing — removing each frame's mean and pre-emphasis — fold into the same basis, so every
/// preset is one convolution. The cost is multiply-accumulates: 2·bins·frame per frame, against the FFT's O(N
/// log N) (`deploy.json` `size.front_end_macs_per_window` counts them).
///
/// Then: the squares summed per bin (power), `Sqrt` for magnitude presets, the mel matrix as a `MatMul`, the
/// log compression (`Max` + `Log`, or `Add` + `Log`, dB scaling and the top-dB floor), the DCT as a `MatMul`
/// for MFCC presets, and a transpose to frames × coefficients. Everything is float32 (the MFCC presets run in
/// float64 in tkd; Docs/deploying.md gives what that costs).
enum FrontEndGraph {
    /// Emits the front end on `audio` ([B, samples]); returns the features value [B, frames, F].
    static func emit(
        _ b: GraphBuilder, config c: FrontEndConfig, samples: Int, audio: String, output: String
    ) throws -> String {
        let frontEnd = try FrontEnd(c)
        let frames = c.frameCount(samples: samples)
        guard frames > 0 else {
            throw DeployError.export(
                field: "window", reason: "\(samples) samples give no frame of \(c.frameLength); expected more")
        }
        let saved = b.scope
        b.scope = "front_end"
        defer { b.scope = saved }

        // The signal the frames are cut from.
        var signal = audio
        var length = samples
        if case let .center(reflect) = c.padding {
            let p = c.fftLength / 2
            guard !reflect || p < samples else {
                throw DeployError.export(
                    field: "window", reason: "\(samples) samples are too short for reflection padding by \(p)")
            }
            signal = b.node(
                "Pad", [audio, b.int64s("pads", [0, p, 0, p])], [.string("mode", reflect ? "reflect" : "constant")],
                shape: [GraphBuilder.batch, samples + 2 * p])
            length = samples + 2 * p
        }

        // The bins a mel band uses: the basis has their cosine and sine rows.
        let fb = frontEnd.filterbank
        var used = Set<Int>()
        for band in 0..<fb.bands where !fb.weights[band].isEmpty {
            for k in fb.starts[band]..<(fb.starts[band] + fb.weights[band].count) { used.insert(k) }
        }
        let bins = used.sorted()
        guard !bins.isEmpty else { throw DeployError.export(field: "mel", reason: "the filterbank has no weights") }
        // Taps where the window is zero (a periodic Hann's first, the zeros around a window shorter than the
        // frame) are left out of the convolution, unless Kaldi's per-frame mixing reaches every tap.
        let live = frontEnd.window.indices.filter { c.kaldiFraming || frontEnd.window[$0] != 0 }
        let first = live.first ?? 0, last = live.last ?? 0
        let taps = last - first + 1
        let rows = 2 * bins.count
        var x = b.unsqueeze(signal, axes: [1])
        if first > 0 {
            x = b.node(
                "Slice", [x, b.int64s("starts", [first]), b.int64s("ends", [length]), b.int64s("axes", [2])],
                shape: [GraphBuilder.batch, 1, length - first])
        }
        let convFrames = (length - first - taps) / c.hopLength + 1
        let w = basisNodes(b, c, window: frontEnd.window, bins: bins, taps: first...last)
        var spectrum = b.node(
            "Conv", [x, w], [.ints("kernel_shape", [taps]), .ints("strides", [c.hopLength])],
            shape: [GraphBuilder.batch, rows, convFrames], macs: convFrames * rows * taps)
        if convFrames > frames {
            spectrum = b.node(
                "Slice", [spectrum, b.int64s("starts", [0]), b.int64s("ends", [frames]), b.int64s("axes", [2])],
                shape: [GraphBuilder.batch, rows, frames])
        }
        precondition(convFrames >= frames, "the convolution gives \(convFrames) frames, fewer than \(frames)")

        // |X|² per bin (re² + im²), then |X| for magnitude presets.
        let squared = b.binary("Mul", spectrum, spectrum)
        let pairs = b.reshape(squared, [GraphBuilder.batch, bins.count, 2, frames])
        var power = b.node(
            "ReduceSum", [pairs, b.int64s("axes", [2])], [.int("keepdims", 0)],
            shape: [GraphBuilder.batch, bins.count, frames])
        if c.spectrum == .magnitude { power = b.unary("Sqrt", power) }

        // Mel: [bands, bins used] · [B, bins used, T].
        var mel = [Float](repeating: 0, count: fb.bands * bins.count)
        let column = Dictionary(uniqueKeysWithValues: bins.enumerated().map { ($1, $0) })
        for band in 0..<fb.bands {
            for (i, v) in fb.weights[band].enumerated() { mel[band * bins.count + column[fb.starts[band] + i]!] = v }
        }
        var y = b.matmul(b.floats("mel_filterbank", mel, dims: [fb.bands, bins.count]), power)

        switch c.log {
        case let .lnFloor(floor):
            y = b.unary("Log", b.binary("Max", y, b.floats("log_floor", [Float(floor)], dims: [])))
        case let .lnOffset(eps):
            y = b.unary("Log", b.binary("Add", y, b.floats("log_offset", [Float(eps)], dims: [])))
        case let .decibels(amin, _):
            let ln = b.unary("Log", b.binary("Max", y, b.floats("amin", [Float(amin)], dims: [])))
            y = b.binary("Mul", ln, b.floats("db_scale", [Float(10 / M_LN10)], dims: []))
        case .none:
            break
        }
        if let dct = frontEnd.dctMatrix, let d = c.dct {
            y = b.matmul(b.floats("dct", dct.map { Float($0) }, dims: [d.coefficients, fb.bands]), y)
        }
        var features = b.transpose(y, [0, 2, 1])
        if case let .decibels(_, topDB?) = c.log {
            let peak = b.node(
                "ReduceMax", [features], [.ints("axes", [1, 2]), .int("keepdims", 1)],
                shape: [GraphBuilder.batch, 1, 1])
            let floor = b.binary("Sub", peak, b.floats("top_db", [Float(topDB)], dims: []))
            features = b.binary("Max", features, floor)
        }
        return b.node("Identity", [features], shape: b.shape(features), output: output)
    }

    /// The basis as nodes on a few constants (the bins, the tap positions, the window), the convolution's
    /// weights [2·bins, 1, taps]: cos and −sin of 2π·((k·j) mod N)/N — the product reduced in integers first,
    /// so the float angle stays in [0, 2π) — times the window, interleaved per bin, with Kaldi's per-frame mean
    /// removal and pre-emphasis (x[0] against itself, as `FrontEnd` does) applied to the rows. All its inputs
    /// are constants, so runtimes fold it once when they load the model (tkd's runner does); the file holds
    /// kilobytes instead of the basis's megabytes (2.5 MB for the kws_streaming presets).
    static func basisNodes(
        _ b: GraphBuilder, _ c: FrontEndConfig, window: [Double], bins: [Int], taps: ClosedRange<Int>
    ) -> String {
        let l = c.frameLength, k = bins.count, n = c.fftLength
        let kaldiStyle = c.kaldiFraming
        // Without Kaldi's mixing of the whole frame, only the taps kept are computed.
        let columns = kaldiStyle ? Array(0..<l) : Array(taps)
        let product = b.binary(
            "Mul", b.int64s("bins", bins, dims: [k, 1]), b.int64s("taps", columns, dims: [1, columns.count]))
        let reduced = b.binary("Mod", product, b.int64s("fft_length", [n], dims: []))
        let angle = b.binary(
            "Mul",
            b.node("Cast", [reduced], [.int("to", Int(ONNXDataType.float.rawValue))], shape: [k, columns.count]),
            b.floats("two_pi_over_n", [Float(2 * Double.pi / Double(n))], dims: []))
        let w = columns.map { Float(window[$0]) }
        var rows = [
            b.binary("Mul", b.unary("Cos", angle), b.floats("window", w, dims: [1, columns.count])),
            b.binary(
                "Mul", b.unary("Sin", angle), b.floats("negative_window", w.map { -$0 }, dims: [1, columns.count])),
        ]
        if kaldiStyle {
            let pre = Float(c.preemphasis)
            rows = rows.map { r in
                // q = r·P: qⱼ = rⱼ − k·rⱼ₊₁, and q₀ = r₀(1 − k) − k·r₁.
                var q = r
                if pre != 0 {
                    let next = b.node(
                        "Slice", [r, b.int64s("starts", [1]), b.int64s("ends", [l]), b.int64s("axes", [1])],
                        shape: [k, l - 1])
                    let shifted = b.node(
                        "Concat", [next, b.floats("zeros", [Float](repeating: 0, count: k), dims: [k, 1])],
                        [.int("axis", 1)], shape: [k, l])
                    var first = [Float](repeating: 0, count: l)
                    first[0] = 1
                    let e0 = b.floats("first_tap", first, dims: [1, l])
                    let k = b.floats("preemphasis", [pre], dims: [])
                    q = b.binary(
                        "Sub", b.binary("Sub", r, b.binary("Mul", shifted, k)),
                        b.binary("Mul", b.binary("Mul", r, e0), k))
                }
                // q·(I − 11ᵀ/L): the frame's mean removed.
                if c.removeDCOffset {
                    let mean = b.node("ReduceMean", [q], [.ints("axes", [1]), .int("keepdims", 1)], shape: [k, 1])
                    q = b.binary("Sub", q, mean)
                }
                return q
            }
        }
        let pairs = b.node(
            "Concat", rows.map { b.unsqueeze($0, axes: [1]) }, [.int("axis", 1)], shape: [k, 2, columns.count])
        var basis = b.reshape(pairs, [2 * k, 1, columns.count])
        if columns.count != taps.count {
            basis = b.node(
                "Slice",
                [
                    basis, b.int64s("starts", [taps.lowerBound]), b.int64s("ends", [taps.upperBound + 1]),
                    b.int64s("axes", [2]),
                ],
                shape: [2 * k, 1, taps.count])
        }
        return basis
    }
}
