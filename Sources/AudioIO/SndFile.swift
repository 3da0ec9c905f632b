import CSndFile
import Foundation
import TKDCore

// All libsndfile interop lives in this file.

/// An open libsndfile handle, closed on deinit.
final class SndFile {
    let handle: OpaquePointer
    let info: SF_INFO
    let path: String

    /// Opens `path` for reading. `limitSamples` refuses files longer than `maxSamples` (reads that decode the
    /// whole file); a stream read block by block (`AudioStream`) has no such limit.
    /// - Throws: `AudioError.missing`, `.notAudio`, `.truncated`, `.empty`.
    init(readingFrom path: String, limitSamples: Bool = true) throws {
        // Only regular files: a folder, a device or a FIFO (which would block the open) is refused.
        switch RegularFile.kind(URL(fileURLWithPath: path)) {
        case .regular: break
        case .missing: throw AudioError.missing(path: path)
        case let .other(what): throw AudioError.notAudio(path: path, reason: "\(what), not a regular file")
        }
        var info = SF_INFO()
        guard let h = sf_open(path, Int32(SFM_READ), &info) else {
            throw Self.openError(path: path, code: sf_error(nil), reason: String(cString: sf_strerror(nil)))
        }
        self.handle = h
        self.info = info
        self.path = path
        if let log = truncationLog(), let declared = Self.declaredDataFrames(log: log, info: info),
            declared > Int(info.frames)
        {
            throw AudioError.truncated(path: path, declaredFrames: declared, availableFrames: Int(info.frames))
        }
        if info.frames <= 0 { throw AudioError.empty(path: path) }
        guard info.channels > 0, info.samplerate > 0 else {
            throw AudioError.corrupt(path: path, reason: "\(info.channels) channel(s) at \(info.samplerate) Hz")
        }
        guard case let (samples, false) = Int(info.frames).multipliedReportingOverflow(by: Int(info.channels)),
            samples <= Self.maxSamples || !limitSamples
        else {
            throw AudioError.tooLong(
                path: path, frames: Int(info.frames), channels: Int(info.channels), maxSamples: Self.maxSamples)
        }
    }

    /// The most samples (frames × channels) one read decodes: 2^29 floats, 2 GiB (over 9 hours of 16-kHz mono).
    static let maxSamples = 1 << 29

    /// Frames decoded per call, so that a header that claims more frames than the data holds costs no
    /// memory beyond the data.
    static let chunkFrames = 1 << 16

    /// Opens an in-memory file for writing (`path` only names it in errors).
    init(writingTo memory: MemoryFile, path: String, sampleRate: Int, channels: Int, format: Int32) throws {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        guard sf_format_check(&info) != 0 else {
            throw AudioError.writeFailed(
                path: path,
                reason:
                    "libsndfile rejects format 0x\(String(format, radix: 16)) at \(sampleRate) Hz, \(channels) "
                    + "channel(s)"
            )
        }
        var vio = MemoryFile.virtualIO
        guard let h = sf_open_virtual(&vio, Int32(SFM_WRITE), &info, Unmanaged.passUnretained(memory).toOpaque()) else {
            throw AudioError.writeFailed(path: path, reason: String(cString: sf_strerror(nil)))
        }
        self.handle = h
        self.info = info
        self.path = path
        self.memory = memory
        // Saturate instead of wrapping around when a float above full scale is converted to integers.
        sf_command(h, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
    }

    /// Keeps an in-memory file alive as long as the handle.
    private var memory: MemoryFile?

    deinit { if !closed { sf_close(handle) } }

    /// Finishes the header and releases the handle's resources now (for in-memory files, before the
    /// bytes are taken).
    func close() {
        if !closed {
            sf_close(handle)
            closed = true
        }
    }
    private var closed = false

    /// Maps libsndfile's open failures onto `AudioError`.
    static func openError(path: String, code: Int32, reason: String) -> AudioError {
        switch Int(code) {
        case SF_ERR_UNRECOGNISED_FORMAT:
            return .notAudio(path: path, reason: reason)
        case SF_ERR_UNSUPPORTED_ENCODING, 18:  // 18: SFE_UNIMPLEMENTED, "data in an unimplemented format"
            return .unsupportedFormat(
                path: path, format: reason,
                expected: "an encoding libsndfile decodes (PCM, float, FLAC, Vorbis, Opus, µ-law, A-law, …)")
        default:
            // Malformed headers: missing chunks, impossible sizes, a file cut inside its header.
            return .corrupt(path: path, reason: reason)
        }
    }

    var frames: Int { Int(info.frames) }
    var channels: Int { Int(info.channels) }
    var sampleRate: Int { Int(info.samplerate) }

    /// libsndfile's log, only when it reports a size mismatch ("should be"); nil otherwise (cheap).
    func truncationLog() -> String? {
        var buffer = [CChar](repeating: 0, count: 8192)
        sf_command(handle, Int32(SFC_GET_LOG_INFO), &buffer, Int32(buffer.count))
        guard strstr(buffer, "should be") != nil else { return nil }
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
            throw AudioError.corrupt(
                path: path, reason: "seek to frame \(frame) failed: \(String(cString: sf_strerror(handle)))")
        }
    }

    /// Reads `count` frames of interleaved float samples. Integer formats are scaled by 1/2^(bits-1)
    /// (PCM16: x / 32768), so full-scale negative is exactly -1.0.
    /// - Throws: `AudioError.corrupt` when fewer frames arrive than requested.
    func readFloat(frames count: Int) throws -> [Float] {
        guard count > 0 else { return [] }
        var out: [Float] = []
        var got = 0
        while got < count {
            let want = min(Self.chunkFrames, count - got)
            let before = out.count
            out.append(contentsOf: repeatElement(0, count: want * channels))
            let n = out.withUnsafeMutableBufferPointer { buf in
                Int(sf_readf_float(handle, buf.baseAddress! + before, sf_count_t(want)))
            }
            if n <= 0 {
                out.removeLast(want * channels)
                break
            }
            got += n
            if n < want { out.removeLast((want - n) * channels) }
        }
        if got < count {
            // The header promised frames the data does not deliver (e.g. a cut-off or lying FLAC stream).
            throw AudioError.truncated(path: path, declaredFrames: count, availableFrames: got)
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

    /// Writes frames of 16-bit integers.
    func writeShort(_ samples: UnsafeBufferPointer<Int16>) throws {
        let frames = samples.count / channels
        let n = sf_writef_short(handle, samples.baseAddress, sf_count_t(frames))
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
        (
            Self.name(of: info.format & Int32(SF_FORMAT_TYPEMASK), command: SFC_GET_FORMAT_MAJOR),
            Self.name(of: info.format & Int32(SF_FORMAT_SUBMASK), command: SFC_GET_FORMAT_SUBTYPE)
        )
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

/// A growable byte buffer that libsndfile writes into through its virtual I/O interface.
final class MemoryFile {
    var bytes: [UInt8] = []
    var position = 0

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    private static func of(_ p: UnsafeMutableRawPointer?) -> MemoryFile {
        Unmanaged<MemoryFile>.fromOpaque(p!).takeUnretainedValue()
    }

    static let virtualIO = SF_VIRTUAL_IO(
        get_filelen: { ud in sf_count_t(MemoryFile.of(ud).bytes.count) },
        seek: { offset, whence, ud in
            let m = MemoryFile.of(ud)
            switch whence {
            case SEEK_CUR: m.position += Int(offset)
            case SEEK_END: m.position = m.bytes.count + Int(offset)
            default: m.position = Int(offset)
            }
            return sf_count_t(m.position)
        },
        read: { ptr, count, ud in
            let m = MemoryFile.of(ud)
            let n = max(0, min(Int(count), m.bytes.count - m.position))
            m.bytes.withUnsafeBytes { src in ptr!.copyMemory(from: src.baseAddress! + m.position, byteCount: n) }
            m.position += n
            return sf_count_t(n)
        },
        write: { ptr, count, ud in
            let m = MemoryFile.of(ud)
            let end = m.position + Int(count)
            if end > m.bytes.count { m.bytes.append(contentsOf: repeatElement(0, count: end - m.bytes.count)) }
            m.bytes.withUnsafeMutableBytes { dst in
                (dst.baseAddress! + m.position).copyMemory(from: ptr!, byteCount: Int(count))
            }
            m.position = end
            return count
        },
        tell: { ud in sf_count_t(MemoryFile.of(ud).position) })
}
