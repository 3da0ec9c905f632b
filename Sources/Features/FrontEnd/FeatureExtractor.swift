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
    let window: [Double]        // frameLength: the window centred, zeros around it
    let dctMatrix: [Double]?    // coefficients × bands

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
    }

    public func features(_ samples: [Float]) -> [Float] {
        switch config.precision {
        case .float32: return Pipeline<Float>(self).run(samples)
        case .float64: return Pipeline<Double>(self).run(samples)
        }
    }

    /// The signal the frames are cut from: centre padding by `fftLength / 2` on each side when asked.
    func padded(_ x: [Float]) -> [Float] {
        guard case let .center(reflect) = config.padding else { return x }
        let p = config.fftLength / 2
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

/// The per-signal computation in precision `T`.
struct Pipeline<T: FrontEndScalar> {
    let c: FrontEndConfig
    let frontEnd: FrontEnd
    let window: [T]
    let weights: [[T]]
    let dct: [T]?
    let fft: RealFFT<T>

    init(_ f: FrontEnd) {
        frontEnd = f
        c = f.config
        window = f.window.map { T($0) }
        weights = f.filterbank.weights.map { $0.map { T($0) } }
        dct = f.dctMatrix?.map { T($0) }
        fft = RealFFT<T>.plan(size: f.config.fftLength)
    }

    func run(_ samples: [Float]) -> [Float] {
        let frames = c.frameCount(samples: samples.count)
        guard frames > 0, samples.count >= c.minimumSamples else { return [] }
        let nb = c.bins, bands = c.mel.bands, nf = c.featureCount
        let starts = frontEnd.filterbank.starts
        let signal = frontEnd.padded(samples)
        var out = [Float](repeating: 0, count: frames * nf)
        var frame = [T](repeating: 0, count: c.fftLength)
        var spectrum = [T](repeating: 0, count: c.fftLength + 2)
        var power = [T](repeating: 0, count: nb)
        var logmel = [T](repeating: 0, count: bands)
        let k = T(c.preemphasis)
        signal.withUnsafeBufferPointer { x in
            frame.withUnsafeMutableBufferPointer { f in
                spectrum.withUnsafeMutableBufferPointer { s in
                    for t in 0..<frames {
                        let start = t * c.hopLength
                        if c.removeDCOffset || c.preemphasis != 0 {
                            // Kaldi order: remove the frame's mean, pre-emphasise (x[0] against itself), window.
                            var mean: T = 0
                            if c.removeDCOffset {
                                for i in 0..<c.frameLength { mean += T(x[start + i]) }
                                mean /= T(c.frameLength)
                            }
                            var previous = T(x[start]) - mean
                            for i in 0..<c.frameLength {
                                let v = T(x[start + i]) - mean
                                f[i] = (v - k * previous) * window[i]
                                previous = v
                            }
                        } else {
                            for i in 0..<c.frameLength { f[i] = T(x[start + i]) * window[i] }
                        }
                        for i in c.frameLength..<c.fftLength { f[i] = 0 }
                        fft.forward(f.baseAddress!, into: s.baseAddress!)
                        for b in 0..<nb {
                            let re = s[2 * b], im = s[2 * b + 1]
                            let p = re * re + im * im
                            power[b] = c.spectrum == .power ? p : p.squareRoot()
                        }
                        for b in 0..<bands {
                            let w = weights[b], s0 = starts[b]
                            var acc: T = 0
                            for i in 0..<w.count { acc += w[i] * power[s0 + i] }
                            logmel[b] = compress(acc)
                        }
                        if let d = dct {
                            for j in 0..<nf {
                                var acc: T = 0
                                for i in 0..<bands { acc += d[j * bands + i] * logmel[i] }
                                out[t * nf + j] = Float(acc)
                            }
                        } else {
                            for j in 0..<nf { out[t * nf + j] = Float(logmel[j]) }
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

    @inline(__always)
    func compress(_ v: T) -> T {
        switch c.log {
        case let .decibels(amin, _): return 10 * T.log10(max(v, T(amin)))
        case let .lnFloor(floor): return T.log(max(v, T(floor)))
        case let .lnOffset(eps): return T.log(v + T(eps))
        case .none: return v
        }
    }
}
