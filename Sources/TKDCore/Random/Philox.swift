// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy
// as 1, 2, 3", SC'11). Based on: the Random123 reference description of Philox4x32-10.
//
// Every random stream is keyed by *what* it is for — (seed, stage, split, example id) — never by
// the order in which work happens, so outputs do not depend on --jobs, --shard or run order.

/// A deterministic stream of random numbers keyed by a seed and a list of names.
///
/// ```swift
/// var rng = CounterRNG(seed: 7, key: ["generate", "2s", "training", "yes/0a7c2a8d_nohash_0"])
/// let onset = rng.uniformInt(0..<16000)
/// ```
public struct CounterRNG: RandomNumberGenerator, Sendable {
    private let key0: UInt32
    private let key1: UInt32
    private let stream: UInt64
    private var counter: UInt64 = 0
    private var block: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    private var used = 4  // 64-bit draws are taken in pairs of words; 4 = block exhausted

    /// - Parameters:
    ///   - seed: the user's seed.
    ///   - key: names that identify this stream; hashed with SHA-256 together with the seed.
    public init(seed: UInt64, key: [String]) {
        var h = SHA256()
        h.update(Array("tkd-rng-v1".utf8))
        withUnsafeBytes(of: seed.littleEndian) { h.update(Array($0)) }
        for part in key {
            // Length-prefix every part so that ["ab","c"] and ["a","bc"] differ.
            withUnsafeBytes(of: UInt64(part.utf8.count).littleEndian) { h.update(Array($0)) }
            h.update(Array(part.utf8))
        }
        let d = h.finalize()
        func word(_ i: Int) -> UInt32 {
            UInt32(d[i]) | UInt32(d[i + 1]) << 8 | UInt32(d[i + 2]) << 16 | UInt32(d[i + 3]) << 24
        }
        key0 = word(0)
        key1 = word(4)
        stream = UInt64(word(8)) | UInt64(word(12)) << 32
    }

    /// The raw Philox4x32-10 block for a counter (exposed for the known-answer test).
    public static func philox(
        counter c: (UInt32, UInt32, UInt32, UInt32), key k: (UInt32, UInt32)
    )
        -> (UInt32, UInt32, UInt32, UInt32)
    {
        var (c0, c1, c2, c3) = c
        var (k0, k1) = k
        for round in 0..<10 {
            if round > 0 {
                k0 &+= 0x9E37_79B9
                k1 &+= 0xBB67_AE85
            }
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return (c0, c1, c2, c3)
    }

    public mutating func next() -> UInt64 {
        if used == 4 { refill() }
        let value: UInt64
        if used == 0 {
            value = UInt64(block.0) | UInt64(block.1) << 32
        } else {
            value = UInt64(block.2) | UInt64(block.3) << 32
        }
        used += 2
        return value
    }

    private mutating func refill() {
        let out = Self.philox(
            counter: (
                UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32),
                UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)
            ),
            key: (key0, key1))
        counter &+= 1
        block = out
        used = 0
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A dropout mask: value i is 0 when the i-th draw of `uniform()` is below `rate`, else `keep` — the same
    /// stream as `count` calls of `uniform()`, in one loop inside this module (where the generator is inlined).
    public mutating func dropoutMask(count: Int, rate: Double, keep: Float) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<count where uniform() >= rate { o[i] = keep }
        }
        return out
    }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * uniform()
    }

    /// Uniform integer in `range`, without modulo bias (Lemire's method).
    public mutating func uniformInt(_ range: Range<Int>) -> Int {
        precondition(!range.isEmpty, "uniformInt needs a non-empty range")
        let span = UInt64(range.upperBound - range.lowerBound)
        return range.lowerBound + Int(next(upperBound: span))
    }

    /// Uniform integer in `range` (closed).
    public mutating func uniformInt(_ range: ClosedRange<Int>) -> Int {
        uniformInt(range.lowerBound..<(range.upperBound + 1))
    }

    /// Standard normal (Box–Muller; one of the pair is used so the stream stays position-independent).
    public mutating func normal() -> Double {
        var u1 = uniform()
        while u1 <= 0 { u1 = uniform() }
        let u2 = uniform()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// Normal with mean and standard deviation.
    public mutating func normal(mean: Double, std: Double) -> Double { mean + std * normal() }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
import Darwin
@inline(__always) private func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
