import DatasetFormat
import Foundation

/// Something that turns audio into a frames × features matrix.
public protocol FeatureExtracting: Sendable {
    var config: FrontEndConfig { get }
    /// Features of `samples` (at `config.sampleRate`), row-major frames × `config.featureCount`;
    /// empty when the signal is shorter than `config.minimumSamples`.
    func features(_ samples: [Float]) -> [Float]
}

/// The front end of `FrontEndConfig`: framing, window, FFT (FFTW), power or magnitude, mel, log, DCT.
/// Plans (window, filterbank, DCT matrix, FFT plan) are built once; `features` allocates only its
/// scratch and output and is safe to call from many threads.
public struct FrontEnd: FeatureExtracting {
    public let config: FrontEndConfig
    public let filterbank: MelFilterbank
    /// The window over `frameLength` samples: the configured window centred, zeros around it.
    public let window: [Double]
    /// The DCT-II matrix, coefficients × bands, row-major (nil for log-mel presets).
    public let dctMatrix: [Double]?
    /// The plan in the configured precision, built once here rather than on every call.
    private let pipeline: Prepared

    private enum Prepared: Sendable {
        case float32(Pipeline<Float>)
        case float64(Pipeline<Double>)
    }

    /// - Throws: `FeaturesError.invalidConfig`.
    public init(_ config: FrontEndConfig) throws {
        try config.validate()
        self.config = config
        let w = config.window.samples()
        var padded = [Double](repeating: 0, count: config.frameLength)
        let offset = (config.frameLength - w.count) / 2
        for (i, v) in w.enumerated() { padded[offset + i] = v }
        window = padded
        filterbank = MelFilterbank(config.mel, sampleRate: config.sampleRate, fftLength: config.fftLength)
        if let d = config.dct {
            let n = config.mel.bands
            var m = [Double](repeating: 0, count: d.coefficients * n)
            for k in 0..<d.coefficients {
                let s: Double
                switch d.scaling {
                case .ortho: s = k == 0 ? (1 / Double(n)).squareRoot() : (2 / Double(n)).squareRoot()
                case .kwsStreaming: s = 2 / (2 * Double(n)).squareRoot()
                }
                for i in 0..<n { m[k * n + i] = s * cos(Double.pi * Double(2 * i + 1) * Double(k) / Double(2 * n)) }
            }
            dctMatrix = m
        } else {
            dctMatrix = nil
        }
        switch config.precision {
        case .float32:
            pipeline = .float32(Pipeline(config: config, window: window, filterbank: filterbank, dct: dctMatrix))
        case .float64:
            pipeline = .float64(Pipeline(config: config, window: window, filterbank: filterbank, dct: dctMatrix))
        }
    }

    public func features(_ samples: [Float]) -> [Float] {
        switch pipeline {
        case let .float32(p): return p.run(samples)
        case let .float64(p): return p.run(samples)
        }
    }
}

extension FrontEndConfig {
    /// The signal the frames are cut from: centre padding by `fftLength / 2` on each side when asked.
    func padded(_ x: [Float]) -> [Float] {
        guard case let .center(reflect) = padding else { return x }
        let p = fftLength / 2
        var out = [Float](repeating: 0, count: x.count + 2 * p)
        for i in 0..<x.count { out[p + i] = x[i] }
        if reflect {
            // torch "reflect": x[p] … x[1] | x | x[n-2] … x[n-1-p] (the edge sample is not repeated).
            for i in 0..<p {
                out[p - 1 - i] = x[min(i + 1, x.count - 1)]
                out[p + x.count + i] = x[max(x.count - 2 - i, 0)]
            }
        }
        return out
    }
}

/// The per-signal computation in precision `T`. Frames go through the FFT `batchSize` at a time (one
/// batched FFTW plan; a partial last batch is zero-filled and its extra outputs dropped).
struct Pipeline<T: FrontEndScalar>: @unchecked Sendable {  // immutable after init; the FFT plan is shared safely
    static var batchSize: Int { 16 }

    let c: FrontEndConfig
    let window: [T]
    let weights: [T]  // all bands' non-zero runs, concatenated
    let runs: [(start: Int, offset: Int, count: Int)]
    let dct: [T]?
    let fft: RealFFT<T>

    init(config: FrontEndConfig, window: [Double], filterbank: MelFilterbank, dct: [Double]?) {
        c = config
        self.window = window.map { T($0) }
        var w: [T] = [], r: [(Int, Int, Int)] = []
        for (b, band) in filterbank.weights.enumerated() {
            r.append((filterbank.starts[b], w.count, band.count))
            w += band.map { T($0) }
        }
        weights = w
        runs = r
        self.dct = dct?.map { T($0) }
        fft = RealFFT<T>.plan(size: config.fftLength, batch: Self.batchSize)
    }

    func run(_ samples: [Float]) -> [Float] {
        let frames = c.frameCount(samples: samples.count)
        guard frames > 0, samples.count >= c.minimumSamples else { return [] }
        let nb = c.bins, bands = c.mel.bands, nf = c.featureCount, n = c.fftLength, fl = c.frameLength
        let batch = Self.batchSize
        let signal = c.padded(samples)
        var out = [Float](repeating: 0, count: frames * nf)
        // FFT buffers must be SIMD-aligned (see RealFFT).
        let fbBase = T.allocateAligned(batch * n), spBase = T.allocateAligned(batch * (n + 2))
        defer {
            T.releaseAligned(fbBase)
            T.releaseAligned(spBase)
        }
        let fb = UnsafeMutableBufferPointer(start: fbBase, count: batch * n)
        let sp = UnsafeMutableBufferPointer(start: spBase, count: batch * (n + 2))
        var power = [T](repeating: 0, count: nb)
        var logmel = [T](repeating: 0, count: bands)
        let k = T(c.preemphasis)
        let magnitude = c.spectrum == .magnitude
        let kaldiStyle = c.kaldiFraming
        signal.withUnsafeBufferPointer { x in
            window.withUnsafeBufferPointer { win in
                weights.withUnsafeBufferPointer { wts in
                    power.withUnsafeMutableBufferPointer { pw in
                        logmel.withUnsafeMutableBufferPointer { lm in
                            out.withUnsafeMutableBufferPointer { o in
                                var t0 = 0
                                while t0 < frames {
                                    let count = min(batch, frames - t0)
                                    for j in 0..<batch {
                                        let f = fb.baseAddress! + j * n
                                        guard j < count else {
                                            for i in 0..<n { f[i] = 0 }
                                            continue
                                        }
                                        // Pointer arithmetic (no overflow-checked index sums) so that these loops
                                        // vectorise.
                                        let src = x.baseAddress! + (t0 + j) * c.hopLength
                                        let w = win.baseAddress!
                                        if kaldiStyle {
                                            // Kaldi order: remove the frame's mean, pre-emphasise (x[0] against
                                            // itself), window.
                                            var mean: T = 0
                                            if c.removeDCOffset {
                                                for i in 0..<fl { mean += T(src[i]) }
                                                mean /= T(fl)
                                            }
                                            let first = T(src[0]) - mean
                                            f[0] = (first - k * first) * w[0]
                                            for i in 1..<fl {
                                                f[i] = ((T(src[i]) - mean) - k * (T(src[i - 1]) - mean)) * w[i]
                                            }
                                        } else {
                                            for i in 0..<fl { f[i] = T(src[i]) * w[i] }
                                        }
                                        for i in fl..<n { f[i] = 0 }
                                    }
                                    fft.forward(fb.baseAddress!, into: sp.baseAddress!)
                                    for j in 0..<count {
                                        let s = sp.baseAddress! + j * (n + 2)
                                        for b in 0..<nb {
                                            let re = s[2 * b], im = s[2 * b + 1]
                                            pw[b] = re * re + im * im
                                        }
                                        if magnitude { for b in 0..<nb { pw[b] = pw[b].squareRoot() } }
                                        for (b, run) in runs.enumerated() {
                                            let wp = wts.baseAddress! + run.offset, pp = pw.baseAddress! + run.start
                                            var acc: T = 0
                                            for i in 0..<run.count { acc += wp[i] * pp[i] }
                                            lm[b] = acc
                                        }
                                        compress(lm)
                                        let row = o.baseAddress! + (t0 + j) * nf
                                        if let d = dct {
                                            for q in 0..<nf {
                                                var acc: T = 0
                                                for i in 0..<bands { acc += d[q * bands + i] * lm[i] }
                                                row[q] = Float(acc)
                                            }
                                        } else {
                                            for q in 0..<nf { row[q] = Float(lm[q]) }
                                        }
                                    }
                                    t0 += count
                                }
                            }
                        }
                    }
                }
            }
        }
        if case let .decibels(_, topDB?) = c.log, let peak = out.max() {
            let floor = peak - Float(topDB)
            for i in 0..<out.count where out[i] < floor { out[i] = floor }
        }
        return out
    }

    /// The log compression of one frame's mel energies, in place.
    @inline(__always)
    func compress(_ v: UnsafeMutableBufferPointer<T>) {
        let (scale, floor, offset): (T, T, T)
        switch c.log {
        case let .decibels(amin, _): (scale, floor, offset) = (T(10 / M_LN10), T(amin), 0)
        case let .lnFloor(f): (scale, floor, offset) = (1, T(f), 0)
        case let .lnOffset(eps): (scale, floor, offset) = (1, 0, T(eps))
        case .none: return
        }
        for i in 0..<v.count {
            let x = v[i] + offset
            v[i] = scale * T.log(x > floor ? x : floor)
        }
    }
}
