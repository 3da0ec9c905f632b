import Foundation

/// Branch-free float32 exponential, sigmoid and tanh that the compiler can vectorise (the recurrent
/// layers spend most of their non-GEMM time in these). exp: Cody–Waite reduction by ln 2 and the Cephes
/// degree-6 polynomial, about 1 ulp on [−87, 88]; inputs outside are clamped (exp(−87.3) ≈ 1e-38,
/// exp(88.3) ≈ 2e38), so sigmoid and tanh saturate cleanly instead of producing NaN.
@inline(__always)
public func fastExp(_ v: Float) -> Float {
    let x = min(max(v, -87.3), 88.3)
    // Round x/ln2 to the nearest integer with the 1.5·2²³ trick; its low bits hold the integer.
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let k = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    let e = p * r * r + r + 1
    return e * Float(bitPattern: UInt32(bitPattern: (k &+ 127) &<< 23))
}

/// 1 / (1 + e^−x).
@inline(__always)
public func fastSigmoid(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }

/// tanh x = 1 − 2 / (1 + e^{2x}) (absolute error below 2e-7).
@inline(__always)
public func fastTanh(_ x: Float) -> Float { 1 - 2 / (1 + fastExp(2 * x)) }

/// `fastExp` on eight lanes at once (explicit SIMD: the scalar loops do not vectorise reliably).
@inline(__always)
public func fastExp(_ v: SIMD8<Float>) -> SIMD8<Float> {
    let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.3)
    let x = v.replacing(with: lo, where: v .< lo).replacing(with: hi, where: v .> hi)
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let k = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    let e = p * r * r + r + 1
    return e * unsafeBitCast((k &+ 127) &<< 23, to: SIMD8<Float>.self)
}

/// Elementwise kernels over arrays, eight lanes at a time with a scalar tail.
public enum Vector {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// out = σ(a + b).
    public static func sigmoidOfSum(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int
    ) {
        var k = 0
        while k + 8 <= n {
            let s = load(a + k) + load(b + k)
            store(1 / (1 + fastExp(-s)), out + k)
            k += 8
        }
        while k < n {
            out[k] = fastSigmoid(a[k] + b[k])
            k += 1
        }
    }

    /// out = tanh(a + r ⊙ h).
    public static func tanhOfSumProduct(
        _ a: UnsafePointer<Float>, _ r: UnsafePointer<Float>, _ h: UnsafePointer<Float>,
        into out: UnsafeMutablePointer<Float>, count n: Int
    ) {
        var k = 0
        while k + 8 <= n {
            let s = load(a + k) + load(r + k) * load(h + k)
            store(1 - 2 / (1 + fastExp(s + s)), out + k)
            k += 8
        }
        while k < n {
            out[k] = fastTanh(a[k] + r[k] * h[k])
            k += 1
        }
    }
}

extension Vector {
    /// dst += src.
    public static func add(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count n: Int) {
        var k = 0
        while k + 8 <= n {
            store(load(dst + k) + load(src + k), dst + k)
            k += 8
        }
        while k < n {
            dst[k] += src[k]
            k += 1
        }
    }

    /// x = max(x, 0).
    public static func relu(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        var k = 0
        let zero = SIMD8<Float>(repeating: 0)
        while k + 8 <= n {
            let v = load(x + k)
            store(v.replacing(with: 0, where: v .< zero), x + k)
            k += 8
        }
        while k < n {
            if x[k] < 0 { x[k] = 0 }
            k += 1
        }
    }

    /// g = 0 where y ≤ 0 (ReLU backward, given the ReLU's output y).
    public static func reluMask(_ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, count n: Int) {
        var k = 0
        let zero = SIMD8<Float>(repeating: 0)
        while k + 8 <= n {
            store(load(g + k).replacing(with: 0, where: load(y + k) .<= zero), g + k)
            k += 8
        }
        while k < n {
            if y[k] <= 0 { g[k] = 0 }
            k += 1
        }
    }
}

/// A float array whose elements the caller overwrites completely (skips the zero fill).
@inline(__always)
public func uninitializedFloats(_ n: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
}

extension Vector {
    /// The Keras GRU's gate gradients for one example and step (see `GRU.backward`): with
    /// dh = dOut + dNext, writes dx = [dA_z, dA_r, dA_c], dRec = [dA_z, dA_r, dA_c ⊙ r] and dNext = dh ⊙ z.
    static func gruGates(
        dOut: UnsafePointer<Float>, dNext: UnsafeMutablePointer<Float>, previous: UnsafePointer<Float>,
        z: UnsafePointer<Float>, r: UnsafePointer<Float>, c: UnsafePointer<Float>, rh: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, dRec: UnsafeMutablePointer<Float>, count u: Int
    ) {
        var k = 0
        while k + 8 <= u {
            let dh = load(dOut + k) + load(dNext + k)
            let zk = load(z + k), rk = load(r + k), ck = load(c + k)
            let dAz = dh * (load(previous + k) - ck) * zk * (1 - zk)
            let dAc = dh * (1 - zk) * (1 - ck * ck)
            let dAr = dAc * load(rh + k) * rk * (1 - rk)
            store(dAz, dx + k)
            store(dAr, dx + u + k)
            store(dAc, dx + 2 * u + k)
            store(dAz, dRec + k)
            store(dAr, dRec + u + k)
            store(dAc * rk, dRec + 2 * u + k)
            store(dh * zk, dNext + k)
            k += 8
        }
        while k < u {
            let dh = dOut[k] + dNext[k]
            let zk = z[k], rk = r[k], ck = c[k]
            let dAz = dh * (previous[k] - ck) * zk * (1 - zk)
            let dAc = dh * (1 - zk) * (1 - ck * ck)
            let dAr = dAc * rh[k] * rk * (1 - rk)
            dx[k] = dAz
            dx[u + k] = dAr
            dx[2 * u + k] = dAc
            dRec[k] = dAz
            dRec[u + k] = dAr
            dRec[2 * u + k] = dAc * rk
            dNext[k] = dh * zk
            k += 1
        }
    }
}

extension Vector {
    /// erf from Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7) over `fastExp`.
    @inline(__always) static func erf8(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let a = v.replacing(with: -v, where: v .< 0)
        let t = 1 / (1 + 0.327_591_1 * a)
        var p = SIMD8<Float>(repeating: 1.061_405_429)
        p = p * t - 1.453_152_027
        p = p * t + 1.421_413_741
        p = p * t - 0.284_496_736
        p = p * t + 0.254_829_592
        let y = 1 - p * t * fastExp(-a * a)
        return y.replacing(with: -y, where: v .< 0)
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>, _ count: Int) -> SIMD8<Float> {
        if count == 8 { return load(p) }
        var v = SIMD8<Float>(repeating: 0)
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count == 8 {
            store(v, p)
            return
        }
        for i in 0..<count { p[i] = v[i] }
    }

    /// erf as a rational function on [−4, 4] (clamped outside; the odd 13th-degree / even 8th-degree
    /// minimax fit used by Eigen and XLA): absolute error 4.2e-7 in float32, no exp, no branches.
    @inline(__always) static func erfRational8(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let lo = SIMD8<Float>(repeating: -4), hi = SIMD8<Float>(repeating: 4)
        let x = v.replacing(with: lo, where: v .< lo).replacing(with: hi, where: v .> hi)
        let x2 = x * x
        var p = SIMD8<Float>(repeating: -2.726_142_258_013_06e-10)
        p = p * x2 + 2.770_681_424_959_02e-08
        p = p * x2 - 2.101_024_020_825_08e-06
        p = p * x2 - 5.692_506_394_623_46e-05
        p = p * x2 - 7.349_906_303_268_55e-04
        p = p * x2 - 2.954_599_808_540_25e-03
        p = p * x2 - 1.609_603_332_624_15e-02
        var q = SIMD8<Float>(repeating: -1.456_607_184_649_96e-05)
        q = q * x2 - 2.133_740_552_789_05e-04
        q = q * x2 - 1.682_826_974_382_03e-03
        q = q * x2 - 7.373_329_167_204_68e-03
        q = q * x2 - 1.426_473_905_141_89e-02
        return x * p / q
    }

    /// Exact-form GELU x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (absolute error below 1e-6), eight lanes at a time;
    /// in place.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        @inline(__always) func f(_ v: SIMD8<Float>) -> SIMD8<Float> { 0.5 * v * (1 + erfRational8(v * 0.707_106_77)) }
        var k = 0
        while k + 8 <= n {
            store(f(load(x + k)), x + k)
            k += 8
        }
        if k < n { store(f(load(x + k, n - k)), x + k, n - k) }
    }

    /// g ⊙= GELU′(x) = Φ(x) + x·φ(x), given GELU's input x; in place on g.
    public static func geluBackward(_ g: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>, count n: Int) {
        @inline(__always) func d(_ v: SIMD8<Float>) -> SIMD8<Float> {
            0.5 * (1 + erf8(v * 0.707_106_77)) + v * 0.398_942_28 * fastExp(-0.5 * v * v)
        }
        var k = 0
        while k + 8 <= n {
            store(load(g + k) * d(load(x + k)), g + k)
            k += 8
        }
        if k < n { store(load(g + k, n - k) * d(load(x + k, n - k)), g + k, n - k) }
    }
}

/// A pointer handed to the chunks of a parallel loop, each of which writes only its own rows.
public struct SendablePointer: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public init(_ base: UnsafeMutablePointer<Float>) { self.base = base }
    public subscript(offset: Int) -> UnsafeMutablePointer<Float> { base + offset }
}

/// Read-only counterpart of `SendablePointer`.
public struct SendableConstPointer: @unchecked Sendable {
    public let base: UnsafePointer<Float>
    public init(_ base: UnsafePointer<Float>) { self.base = base }
    public subscript(offset: Int) -> UnsafePointer<Float> { base + offset }
}
