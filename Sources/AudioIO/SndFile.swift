import CSndFile
import Foundation

// All libsndfile interop lives in this file.

/// An open libsndfile handle, closed on deinit.
final class SndFile {
    let handle: OpaquePointer
    let info: SF_INFO
    let path: String

    /// Opens `path` for reading.
    /// - Throws: `AudioError.missing`, `.notAudio`, `.truncated`, `.empty`.
    init(readingFrom path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw AudioError.missing(path: path)
        }
        var info = SF_INFO()
        guard let h = sf_open(path, Int32(SFM_READ), &info) else {
            throw Self.openError(path: path, code: sf_error(nil), reason: String(cString: sf_strerror(nil)))
        }
        self.handle = h
        self.info = info
        self.path = path
        if let declared = Self.declaredDataFrames(log: logInfo, info: info), declared > Int(info.frames) {
            throw AudioError.truncated(path: path, declaredFrames: declared, availableFrames: Int(info.frames))
        }
        if info.frames <= 0 { throw AudioError.empty(path: path) }
    }

    /// Opens `path` for writing with the given format (temporary paths are the caller's business).
    init(writingTo path: String, sampleRate: Int, channels: Int, format: Int32) throws {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        guard sf_format_check(&info) != 0 else {
            throw AudioError.writeFailed(path: path, reason: "libsndfile rejects format 0x\(String(format, radix: 16)) at \(sampleRate) Hz, \(channels) channel(s)")
        }
        guard let h = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError.writeFailed(path: path, reason: String(cString: sf_strerror(nil)))
        }
        self.handle = h
        self.info = info
        self.path = path
        // Saturate instead of wrapping around when a float above full scale is converted to integers.
        sf_command(h, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
    }

    deinit { sf_close(handle) }

    /// Maps libsndfile's open failures onto `AudioError`.
    static func openError(path: String, code: Int32, reason: String) -> AudioError {
        switch Int(code) {
        case SF_ERR_UNRECOGNISED_FORMAT:
            return .notAudio(path: path, reason: reason)
        case SF_ERR_UNSUPPORTED_ENCODING, 18:  // 18: SFE_UNIMPLEMENTED, "data in an unimplemented format"
            return .unsupportedFormat(path: path, format: reason,
                                      expected: "an encoding libsndfile decodes (PCM, float, FLAC, Vorbis, Opus, µ-law, A-law, …)")
        default:
            // Malformed headers: missing chunks, impossible sizes, a file cut inside its header.
            return .corrupt(path: path, reason: reason)
        }
    }

    var frames: Int { Int(info.frames) }
    var channels: Int { Int(info.channels) }
    var sampleRate: Int { Int(info.samplerate) }

    var logInfo: String {
        var buffer = [CChar](repeating: 0, count: 8192)
        sf_command(handle, Int32(SFC_GET_LOG_INFO), &buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// For WAV/AIFF-style containers libsndfile logs `data : <declared> (should be <actual>)` when the
    /// data chunk is shorter than its header says; returns the declared frame count in that case.
    static func declaredDataFrames(log: String, info: SF_INFO) -> Int? {
        for line in log.split(separator: "\n") where line.hasPrefix("data") && line.contains("should be") {
            let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            guard numbers.count >= 2, numbers[0] > numbers[1] else { continue }
            let bytesPerFrame = Self.bytesPerSample(info.format) * Int(info.channels)
            guard bytesPerFrame > 0 else { return nil }
            return numbers[0] / bytesPerFrame
        }
        return nil
    }

    static func bytesPerSample(_ format: Int32) -> Int {
        switch format & Int32(SF_FORMAT_SUBMASK) {
        case Int32(SF_FORMAT_PCM_S8), Int32(SF_FORMAT_PCM_U8), Int32(SF_FORMAT_ULAW), Int32(SF_FORMAT_ALAW): return 1
        case Int32(SF_FORMAT_PCM_16): return 2
        case Int32(SF_FORMAT_PCM_24): return 3
        case Int32(SF_FORMAT_PCM_32), Int32(SF_FORMAT_FLOAT): return 4
        case Int32(SF_FORMAT_DOUBLE): return 8
        default: return 0
        }
    }

    /// Seeks to a frame.
    func seek(to frame: Int) throws {
        if sf_seek(handle, sf_count_t(frame), SEEK_SET) < 0 {
            throw AudioError.corrupt(path: path, reason: "seek to frame \(frame) failed: \(String(cString: sf_strerror(handle)))")
        }
    }

    /// Reads `count` frames of interleaved float samples. Integer formats are scaled by 1/2^(bits-1)
    /// (PCM16: x / 32768), so full-scale negative is exactly -1.0.
    /// - Throws: `AudioError.corrupt` when fewer frames arrive than requested.
    func readFloat(frames count: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: count * channels)
        var got = 0
        try out.withUnsafeMutableBufferPointer { buf in
            while got < count {
                let n = Int(sf_readf_float(handle, buf.baseAddress! + got * channels, sf_count_t(count - got)))
                if n <= 0 { break }
                got += n
            }
            if got < count {
                // The header promised frames the data does not deliver (e.g. a cut-off FLAC stream).
                throw AudioError.truncated(path: path, declaredFrames: count, availableFrames: got)
            }
        }
        return out
    }

    /// Writes interleaved float frames (for float encodings; integer encodings go through `writeInt`).
    func writeFloat(_ samples: UnsafeBufferPointer<Float>) throws {
        let frames = samples.count / channels
        let n = sf_writef_float(handle, samples.baseAddress, sf_count_t(frames))
        if Int(n) != frames {
            throw AudioError.writeFailed(path: path, reason: String(cString: sf_strerror(handle)))
        }
    }

    /// Writes frames of 32-bit integers (libsndfile keeps the top bits for 16/24-bit encodings).
    func writeInt(_ samples: UnsafeBufferPointer<Int32>) throws {
        let frames = samples.count / channels
        let n = sf_writef_int(handle, samples.baseAddress, sf_count_t(frames))
        if Int(n) != frames {
            throw AudioError.writeFailed(path: path, reason: String(cString: sf_strerror(handle)))
        }
    }

    /// Container and encoding names, e.g. ("WAV", "PCM_16").
    var formatNames: (container: String, subtype: String) {
        (Self.name(of: info.format & Int32(SF_FORMAT_TYPEMASK), command: SFC_GET_FORMAT_MAJOR),
         Self.name(of: info.format & Int32(SF_FORMAT_SUBMASK), command: SFC_GET_FORMAT_SUBTYPE))
    }

    private static func name(of format: Int32, command: Int) -> String {
        var count: Int32 = 0
        let countCommand = command == SFC_GET_FORMAT_MAJOR ? SFC_GET_FORMAT_MAJOR_COUNT : SFC_GET_FORMAT_SUBTYPE_COUNT
        sf_command(nil, Int32(countCommand), &count, Int32(MemoryLayout<Int32>.size))
        for i in 0..<count {
            var fi = SF_FORMAT_INFO()
            fi.format = i
            sf_command(nil, Int32(command), &fi, Int32(MemoryLayout<SF_FORMAT_INFO>.size))
            if fi.format == format {
                if let ext = fi.extension, command == SFC_GET_FORMAT_MAJOR { return String(cString: ext).uppercased() }
                return fi.name.map { String(cString: $0) } ?? "0x\(String(format, radix: 16))"
            }
        }
        return "0x\(String(format, radix: 16))"
    }

    static var versionString: String { String(cString: sf_version_string()) }
}
