import Foundation
import TestSupport
import Testing

@testable import AudioIO

/// One test per way an audio input can be bad. Each error must name the file.
@Suite("Audio errors")
struct AudioErrorTests {
    static func wavHeader(
        formatTag: UInt16, channels: UInt16 = 1, rate: UInt32 = 16000, bits: UInt16 = 16,
        dataBytes: UInt32, extra: [UInt8] = []
    ) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        let fmtSize = UInt32(16 + extra.count)
        d.append(contentsOf: Array("RIFF".utf8))
        u32(4 + 8 + fmtSize + 8 + dataBytes)
        d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(fmtSize)
        u16(formatTag)
        u16(channels)
        u32(rate)
        u32(rate * UInt32(channels) * UInt32(bits / 8))
        u16(channels * bits / 8)
        u16(bits)
        d.append(contentsOf: extra)
        d.append(contentsOf: Array("data".utf8))
        u32(dataBytes)
        return d
    }

    @Test("a missing file")
    func missing() {
        let path = "/nonexistent/tkd/clip.wav"
        #expect(throws: AudioError.missing(path: path)) { try AudioReader.read(URL(fileURLWithPath: path)) }
        #expect(AudioError.missing(path: path).description.contains(path))
    }

    @Test("a file that is not audio")
    func notAudio() throws {
        let dir = (try! TestFolder.make("notaudio"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("notes.wav")
        try Data("hello, I am text\n".utf8).write(to: url)
        #expect { try AudioReader.read(url) } throws: { e in
            guard case let .notAudio(path, _) = e as? AudioError else { return false }
            return path == url.path
        }
    }

    @Test("a WAV whose data chunk is cut short")
    func truncated() throws {
        let dir = (try! TestFolder.make("trunc"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("cut.wav")
        var d = Self.wavHeader(formatTag: 1, dataBytes: 32000)
        d.append(Data(count: 20000))
        try d.write(to: url)
        #expect(throws: AudioError.truncated(path: url.path, declaredFrames: 16000, availableFrames: 10000)) {
            try AudioReader.read(url)
        }
    }

    @Test("a FLAC stream cut short")
    func truncatedFLAC() throws {
        let dir = (try! TestFolder.make("truncflac"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = dir.appendingPathComponent("full.flac")
        var rng = SystemRandomNumberGenerator()
        try AudioWriter.write(
            (0..<16000).map { _ in Float.random(in: -0.5...0.5, using: &rng) },
            sampleRate: 16000, to: full, format: .flac)
        let data = try Data(contentsOf: full)
        let cut = dir.appendingPathComponent("cut.flac")
        try data.prefix(data.count / 3).write(to: cut)
        #expect { try AudioReader.read(cut) } throws: { e in
            guard case let .truncated(path, declared, available) = e as? AudioError else { return false }
            return path == cut.path && declared == 16000 && available < 16000
        }
    }

    @Test("a file cut inside its header is corrupt")
    func corruptHeader() throws {
        let dir = (try! TestFolder.make("corrupt"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("header.wav")
        try Self.wavHeader(formatTag: 1, dataBytes: 32000).prefix(30).write(to: url)
        #expect { try AudioReader.read(url) } throws: { e in
            guard case let .corrupt(path, _) = e as? AudioError else { return false }
            return path == url.path
        }
    }

    @Test("a file with zero frames")
    func empty() throws {
        let dir = (try! TestFolder.make("empty"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("empty.wav")
        try Self.wavHeader(formatTag: 1, dataBytes: 0).write(to: url)
        #expect(throws: AudioError.empty(path: url.path)) { try AudioReader.info(url) }
    }

    @Test("an encoding libsndfile does not implement")
    func unsupported() throws {
        let dir = (try! TestFolder.make("unsupported"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("extensible.wav")
        // WAVE_FORMAT_EXTENSIBLE with an unknown sub-format GUID.
        let extra: [UInt8] = [22, 0, 16, 0, 4, 0, 0, 0] + Array(0..<16)
        var d = Self.wavHeader(formatTag: 0xFFFE, dataBytes: 100, extra: extra)
        d.append(Data(count: 100))
        try d.write(to: url)
        #expect { try AudioReader.read(url) } throws: { e in
            guard case let .unsupportedFormat(path, _, _) = e as? AudioError else { return false }
            return path == url.path
        }
    }

    @Test("an unexpected channel count")
    func channels() throws {
        let dir = (try! TestFolder.make("channels"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("quad.wav")
        TestAudio.writeInt16([Int16](repeating: 5, count: 400), channels: 4, sampleRate: 16000, to: url)
        #expect(throws: AudioError.unexpectedChannels(path: url.path, channels: 4, expected: 1)) {
            try AudioReader.read(url, options: AudioReadOptions(downMix: .requireMono))
        }
        #expect(try AudioReader.info(url).channels == 4)
    }

    @Test("error messages are one line naming the file, what was seen and what was expected")
    func messages() {
        let e = AudioError.unexpectedSampleRate(path: "a/b.wav", sampleRate: 44100, expected: 16000)
        #expect(
            e.description
                == "audio: a/b.wav: sample rate 44100 Hz; expected 16000 Hz. Hint: allow resampling or convert the "
                + "file."
        )
        for error in [
            AudioError.truncated(path: "x.wav", declaredFrames: 10, availableFrames: 5), .empty(path: "x.wav"),
            .missing(path: "x.wav"), .notAudio(path: "x.wav", reason: "r"),
        ] {
            #expect(!error.description.contains("\n"))
            #expect(error.description.contains("x.wav"))
        }
    }
}
