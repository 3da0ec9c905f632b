import CSndFile
import Foundation
import TKDCore

extension AudioFormat {
    var sfFormat: Int32 {
        switch self {
        case .pcm16: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
        case .pcm24: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_24)
        case .float32: return Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
        case .flac: return Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
        }
    }

    /// Bits of an integer encoding, nil for float.
    var integerBits: Int? {
        switch self {
        case .pcm16, .flac: return 16
        case .pcm24: return 24
        case .float32: return nil
        }
    }
}

/// What a write did.
public struct AudioWriteReport: Sendable, Equatable {
    public let path: String
    public let frames: Int
    /// Samples that were saturated to full scale by the integer conversion (0 for float32).
    public let clippedSamples: Int
}

/// Writes mono Float32 audio, atomically (encoded in memory, written under a temporary name, renamed).
///
/// Integer formats scale by 2^(bits-1) and round half to even (PCM16: x · 32768), the inverse of
/// `AudioReader`, so PCM16 → Float → PCM16 is bit-exact. Samples beyond full scale are saturated,
/// never wrapped, and counted in the report (`SFC_SET_CLIPPING` is also set on every handle, so
/// libsndfile saturates too wherever it converts).
public enum AudioWriter {
    /// - Throws: `AudioError.writeFailed` naming the destination.
    @discardableResult
    public static func write(
        _ samples: [Float], sampleRate: Int, to url: URL,
        format: AudioFormat = .pcm16
    ) throws -> AudioWriteReport {
        let encoded = try encode(samples, sampleRate: sampleRate, format: format, path: url.path)
        do { try AtomicFile.write(encoded.data, to: url) } catch {
            throw AudioError.writeFailed(path: url.path, reason: "\(error)")
        }
        return AudioWriteReport(path: url.path, frames: samples.count, clippedSamples: encoded.clippedSamples)
    }

    /// The bytes of the file `write` would write, and the number of saturated samples.
    /// - Parameter path: names the file in errors.
    public static func encode(
        _ samples: [Float], sampleRate: Int, format: AudioFormat = .pcm16,
        path: String = "<memory>"
    ) throws -> (data: Data, clippedSamples: Int) {
        guard sampleRate > 0 else {
            throw AudioError.writeFailed(path: path, reason: "sample rate \(sampleRate) Hz; expected > 0")
        }
        if !allFinite(samples), let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw AudioError.writeFailed(path: path, reason: "sample \(bad) is \(samples[bad]); expected finite values")
        }
        let memory = MemoryFile(capacity: samples.count * 4 + 1024)
        let file = try SndFile(
            writingTo: memory, path: path, sampleRate: sampleRate, channels: 1, format: format.sfFormat)
        var clipped = 0
        switch format.integerBits {
        case 16?:
            let (shorts, n) = quantise16(samples)
            clipped = n
            try shorts.withUnsafeBufferPointer { try file.writeShort($0) }
        case let bits?:
            let (ints, n) = quantise(samples, bits: bits)
            clipped = n
            try ints.withUnsafeBufferPointer { try file.writeInt($0) }
        case nil:
            try samples.withUnsafeBufferPointer { try file.writeFloat($0) }
        }
        file.close()
        return (Data(memory.bytes), clipped)
    }

    /// x · 32768 rounded half to even and saturated to Int16, and the number of saturated samples.
    ///
    /// Float is exact here (the scale is a power of two); after clamping to [-32768, 32767], adding
    /// 1.5 · 2^23 rounds half to even and leaves the integer in the low mantissa bits, so the
    /// conversion needs no trapping float-to-int cast and the loop vectorises.
    static func quantise16(_ samples: [Float]) -> (shorts: [Int16], clipped: Int) {
        let magic: Float = 12_582_912  // 1.5 · 2^23
        let magicBits = Int32(bitPattern: magic.bitPattern)
        var clipped: Int32 = 0
        let shorts = [Int16](unsafeUninitializedCapacity: samples.count) { out, count in
            samples.withUnsafeBufferPointer { src in
                // Branch-free selects only, so the loop vectorises.
                for i in 0..<src.count {
                    let v = src[i] * 32768
                    let over: Int32 = v >= 32767.5 ? 1 : 0
                    let under: Int32 = v < -32768.5 ? 1 : 0
                    clipped &+= over &+ under
                    let upper = v > 32767 ? 32767 : v
                    let c = upper < -32768 ? -32768 : upper
                    out[i] = Int16(truncatingIfNeeded: Int32(bitPattern: (c + magic).bitPattern) &- magicBits)
                }
            }
            count = samples.count
        }
        return (shorts, Int(clipped))
    }

    /// Whether no sample is NaN or infinite (an exponent of all ones), as a vectorisable reduction.
    static func allFinite(_ samples: [Float]) -> Bool {
        samples.withUnsafeBufferPointer { src in
            var bad: UInt32 = 0
            for i in 0..<src.count {
                bad |= (src[i].bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0
            }
            return bad == 0
        }
    }

    /// x · 2^(bits-1), rounded half to even, saturated to the `bits`-bit range and left-justified in
    /// 32 bits (libsndfile's integer convention), and the number of saturated samples (24-bit PCM).
    static func quantise(_ samples: [Float], bits: Int) -> (ints: [Int32], clipped: Int) {
        let full = Double(1 << (bits - 1))
        let shift = Int32(32 - bits)
        let hi = full - 1, lo = -full
        let magic = 6_755_399_441_055_744.0  // 1.5 · 2^52: rounds half to even in Double
        var clipped = 0
        let ints = [Int32](unsafeUninitializedCapacity: samples.count) { out, count in
            samples.withUnsafeBufferPointer { src in
                for i in 0..<src.count {
                    let v = Double(src[i]) * full
                    if v >= hi + 0.5 || v < lo - 0.5 { clipped += 1 }
                    let c = v > hi ? hi : (v < lo ? lo : v)
                    out[i] = Int32((c + magic) - magic) << shift
                }
            }
            count = samples.count
        }
        return (ints, clipped)
    }
}
