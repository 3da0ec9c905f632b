import CFFTW
import Foundation

// All FFTW interop lives in this file.

/// Scalars the front end can compute in: Float (FFTW's single precision, `fftwf_*`) or Double (`fftw_*`).
public protocol FrontEndScalar: BinaryFloatingPoint, Sendable {
    /// A plan for `batch` transforms of `size` real samples, contiguous in the input (stride `size`)
    /// and in the output (stride `size/2 + 1` complex values).
    static func makeFFT(size: Int, batch: Int) -> OpaquePointer
    /// SIMD-aligned memory for FFT buffers (fftw_malloc); free with `releaseAligned`.
    static func allocateAligned(_ count: Int) -> UnsafeMutablePointer<Self>
    static func releaseAligned(_ p: UnsafeMutablePointer<Self>)
    static func executeFFT(
        _ plan: OpaquePointer, _ input: UnsafeMutablePointer<Self>, _ output: UnsafeMutablePointer<Self>)
    static func log(_ x: Self) -> Self
    static func log10(_ x: Self) -> Self
}

extension Float: FrontEndScalar {
    public static func makeFFT(size: Int, batch: Int) -> OpaquePointer {
        let input = fftwf_alloc_real(size * batch)!, output = fftwf_alloc_complex((size / 2 + 1) * batch)!
        defer {
            fftwf_free(input)
            fftwf_free(output)
        }
        var n = Int32(size)
        return fftwf_plan_many_dft_r2c(
            1, &n, Int32(batch), input, nil, 1, Int32(size), output, nil, 1, Int32(size / 2 + 1),
            UInt32(FFTW_ESTIMATE))
    }
    public static func allocateAligned(_ count: Int) -> UnsafeMutablePointer<Float> { fftwf_alloc_real(count)! }
    public static func releaseAligned(_ p: UnsafeMutablePointer<Float>) { fftwf_free(p) }
    public static func executeFFT(
        _ plan: OpaquePointer, _ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>
    ) {
        output.withMemoryRebound(to: fftwf_complex.self, capacity: 1) { fftwf_execute_dft_r2c(plan, input, $0) }
    }
    /// Natural log for positive normal floats, branch-free so that loops over it vectorise: the
    /// exponent from the bits, the mantissa folded into [√½, √2), then ln m = 2·atanh((m−1)/(m+1)) by
    /// its series to t¹¹ (truncation < 1e-9; overall error within a few float ulps).
    @inline(__always)
    public static func log(_ x: Float) -> Float {
        let bits = x.bitPattern
        let e = Int32(bitPattern: (bits >> 23) & 0xFF) &- 127
        let m = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F80_0000)  // [1, 2)
        let big = m > 1.414_213_6
        let mm = big ? m * 0.5 : m
        let ee = Float(big ? e &+ 1 : e)
        let t = (mm - 1) / (mm + 1), t2 = t * t
        let series =
            t * (2 + t2 * (0.666_666_7 + t2 * (0.4 + t2 * (0.285_714_3 + t2 * (0.222_222_2 + t2 * 0.181_818_2)))))
        return series + ee * 0.693_147_2
    }
    public static func log10(_ x: Float) -> Float { log(x) * Float(1 / M_LN10) }
}

extension Double: FrontEndScalar {
    public static func makeFFT(size: Int, batch: Int) -> OpaquePointer {
        let input = fftw_alloc_real(size * batch)!, output = fftw_alloc_complex((size / 2 + 1) * batch)!
        defer {
            fftw_free(input)
            fftw_free(output)
        }
        var n = Int32(size)
        return fftw_plan_many_dft_r2c(
            1, &n, Int32(batch), input, nil, 1, Int32(size), output, nil, 1, Int32(size / 2 + 1),
            UInt32(FFTW_ESTIMATE))
    }
    public static func allocateAligned(_ count: Int) -> UnsafeMutablePointer<Double> { fftw_alloc_real(count)! }
    public static func releaseAligned(_ p: UnsafeMutablePointer<Double>) { fftw_free(p) }
    public static func executeFFT(
        _ plan: OpaquePointer, _ input: UnsafeMutablePointer<Double>, _ output: UnsafeMutablePointer<Double>
    ) {
        output.withMemoryRebound(to: fftw_complex.self, capacity: 1) { fftw_execute_dft_r2c(plan, input, $0) }
    }
    public static func log(_ x: Double) -> Double { Foundation.log(x) }
    public static func log10(_ x: Double) -> Double { Foundation.log10(x) }
}

/// Real-to-complex FFTs of one size, precision and batch (frames transformed together, which lets
/// FFTW vectorise across frames), planned once and shared by every thread.
///
/// FFTW planning is not thread-safe, so plans are made under one global lock and cached by (size,
/// precision, batch); executing a plan is thread-safe with per-call buffers. Plans assume SIMD-aligned
/// buffers (`FFTW_UNALIGNED` would disable FFTW's vector codelets and halve the speed), so callers
/// allocate them with `T.allocateAligned`. Plans are `FFTW_ESTIMATE`: measured plans may choose other
/// algorithms from run to run, which would break byte-identical features.
public final class RealFFT<T: FrontEndScalar>: @unchecked Sendable {
    public let size: Int
    public let batch: Int
    private let plan: OpaquePointer

    /// The shared plan for `batch` transforms of `size` (even, ≥ 2).
    public static func plan(size: Int, batch: Int = 1) -> RealFFT<T> {
        precondition(size >= 2 && size % 2 == 0 && batch >= 1, "FFT size must be even and at least 2")
        planLock.lock()
        defer { planLock.unlock() }
        let key = "\(T.self)/\(size)x\(batch)"
        if let p = planCache[key] as? RealFFT<T> { return p }
        let p = RealFFT<T>(size: size, batch: batch, plan: T.makeFFT(size: size, batch: batch))
        planCache[key] = p
        return p
    }

    private init(size: Int, batch: Int, plan: OpaquePointer) {
        self.size = size
        self.batch = batch
        self.plan = plan
    }

    /// Spectra of `batch` frames (`batch · size` samples) into `output` (`batch · (size + 2)` scalars:
    /// re, im interleaved, frame after frame). Both buffers must come from `T.allocateAligned`.
    @inline(__always)
    public func forward(_ input: UnsafeMutablePointer<T>, into output: UnsafeMutablePointer<T>) {
        T.executeFFT(plan, input, output)
    }
}

private let planLock = NSLock()
nonisolated(unsafe) private var planCache: [String: AnyObject] = [:]

/// FFTW's version string, e.g. "fftw-3.3.10-sse2-avx".
public var fftwVersion: String { String(cString: tkd_fftwf_version()) }

/// Linear cross-correlation by FFT (FFTW, Double precision).
public enum CrossCorrelation {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var plans: [Int: (forward: OpaquePointer, inverse: OpaquePointer)] = [:]

    /// FFTW plans for `size` (made once, under a lock: planning is not thread-safe).
    private static func plan(_ size: Int) -> (forward: OpaquePointer, inverse: OpaquePointer) {
        lock.lock()
        defer { lock.unlock() }
        if let p = plans[size] { return p }
        let real = fftw_alloc_real(size)!, complex = fftw_alloc_complex(size / 2 + 1)!
        defer {
            fftw_free(real)
            fftw_free(complex)
        }
        let p = (
            fftw_plan_dft_r2c_1d(Int32(size), real, complex, UInt32(FFTW_ESTIMATE))!,
            fftw_plan_dft_c2r_1d(Int32(size), complex, real, UInt32(FFTW_ESTIMATE))!
        )
        plans[size] = p
        return p
    }

    /// r[τ] = Σ_i x[τ + i]·c[i] for every lag τ in 0 ... x.count − c.count.
    public static func valid(_ x: [Double], _ c: [Double]) -> [Double] {
        let n = x.count, m = c.count
        guard m > 0, n >= m else { return [] }
        var size = 2
        while size < n + m { size <<= 1 }
        let (forward, inverse) = plan(size), bins = size / 2 + 1
        let a = fftw_alloc_real(size)!, b = fftw_alloc_real(size)!
        let fa = fftw_alloc_complex(bins)!, fb = fftw_alloc_complex(bins)!
        defer {
            fftw_free(a)
            fftw_free(b)
            fftw_free(fa)
            fftw_free(fb)
        }
        a.update(repeating: 0, count: size)
        b.update(repeating: 0, count: size)
        x.withUnsafeBufferPointer { a.update(from: $0.baseAddress!, count: n) }
        c.withUnsafeBufferPointer { b.update(from: $0.baseAddress!, count: m) }
        fftw_execute_dft_r2c(forward, a, fa)
        fftw_execute_dft_r2c(forward, b, fb)
        // X · conj(C), in place in fa.
        fa.withMemoryRebound(to: Double.self, capacity: 2 * bins) { p in
            fb.withMemoryRebound(to: Double.self, capacity: 2 * bins) { q in
                for k in 0..<bins {
                    let (xr, xi, cr, ci) = (p[2 * k], p[2 * k + 1], q[2 * k], q[2 * k + 1])
                    p[2 * k] = xr * cr + xi * ci
                    p[2 * k + 1] = xi * cr - xr * ci
                }
            }
        }
        fftw_execute_dft_c2r(inverse, fa, a)
        let scale = 1 / Double(size)
        return (0...(n - m)).map { a[$0] * scale }
    }
}
