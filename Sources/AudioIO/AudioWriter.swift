import CSndFile
import Foundation
import TKDCore

/// Output encodings.
public enum AudioFormat: String, Sendable, CaseIterable, Codable {
    /// WAV, signed 16-bit PCM (the default).
    case pcm16 = "wav-pcm16"
    /// WAV, signed 24-bit PCM.
    case pcm24 = "wav-pcm24"
    /// WAV, 32-bit IEEE float (no clipping: values beyond ±1 are kept).
    case float32 = "wav-float32"
    /// FLAC, 16-bit.
    case flac = "flac"

    /// The file extension.
    public var fileExtension: String { self == .flac ? "flac" : "wav" }

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

/// Writes mono Float32 audio, atomically (temporary name, then rename).
///
/// Integer formats scale by 2^(bits-1) and round half to even (PCM16: x · 32768), the inverse of
/// `AudioReader`, so PCM16 → Float → PCM16 is bit-exact. Samples beyond full scale are saturated,
/// never wrapped, and counted in the report (`SFC_SET_CLIPPING` is also set on every handle, so
/// libsndfile saturates too wherever it converts).
public enum AudioWriter {
    /// - Throws: `AudioError.writeFailed` naming the destination.
    @discardableResult
    public static func write(_ samples: [Float], sampleRate: Int, to url: URL,
                             format: AudioFormat = .pcm16) throws -> AudioWriteReport {
        guard sampleRate > 0 else {
            throw AudioError.writeFailed(path: url.path, reason: "sample rate \(sampleRate) Hz; expected > 0")
        }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw AudioError.writeFailed(path: url.path, reason: "sample \(bad) is \(samples[bad]); expected finite values")
        }
        do { try AtomicFile.createParent(of: url) } catch {
            throw AudioError.writeFailed(path: url.path, reason: "\(error)")
        }
        let clipped = countClipped(samples, format: format)
        let tmp = AtomicFile.temporaryURL(for: url)
        do {
            // The handle must be closed (header finalised) before the rename.
            try {
                let file = try SndFile(writingTo: tmp.path, sampleRate: sampleRate, channels: 1, format: format.sfFormat)
                if let bits = format.integerBits {
                    let ints = quantise(samples, bits: bits)
                    try ints.withUnsafeBufferPointer { try file.writeInt($0) }
                } else {
                    try samples.withUnsafeBufferPointer { try file.writeFloat($0) }
                }
            }()
            try AtomicFile.commit(tmp, to: url)
        } catch let error as AudioError {
            try? FileManager.default.removeItem(at: tmp)
            if case let .writeFailed(_, reason) = error { throw AudioError.writeFailed(path: url.path, reason: reason) }
            throw error
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw AudioError.writeFailed(path: url.path, reason: "\(error)")
        }
        return AudioWriteReport(path: url.path, frames: samples.count, clippedSamples: clipped)
    }

    /// Samples that an integer `format` cannot hold (they will be saturated).
    public static func countClipped(_ samples: [Float], format: AudioFormat) -> Int {
        guard let bits = format.integerBits else { return 0 }
        let scale = Double(1 << (bits - 1))
        var n = 0
        for s in samples {
            let v = (Double(s) * scale).rounded(.toNearestOrEven)
            if v > scale - 1 || v < -scale { n += 1 }
        }
        return n
    }

    /// x · 2^(bits-1), rounded half to even, saturated to the `bits`-bit range, and left-justified in
    /// 32 bits (libsndfile's integer convention). Done here rather than by libsndfile's float path so
    /// that rounding is exact and the same for every libsndfile version.
    static func quantise(_ samples: [Float], bits: Int) -> [Int32] {
        let scale = Double(1 << (bits - 1))
        let shift = Int32(32 - bits)
        return samples.map { s in
            let v = min(max((Double(s) * scale).rounded(.toNearestOrEven), -scale), scale - 1)
            return Int32(v) << shift
        }
    }
}
