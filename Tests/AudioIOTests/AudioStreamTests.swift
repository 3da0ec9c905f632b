import Foundation
import TestSupport
import Testing

@testable import AudioIO

/// `AudioStream`: a long file read block by block equals a whole read.
@Suite("AudioStream")
struct AudioStreamTests {
    /// A stereo PCM16 file of `frames` frames (more than two blocks).
    static func stereo(_ dir: URL, frames: Int, rate: Int) -> URL {
        var samples = [Int16](repeating: 0, count: 2 * frames)
        for i in 0..<frames {
            let v = sin(2 * Double.pi * 997 * Double(i) / Double(rate)) * 12000
            samples[2 * i] = Int16(v)
            samples[2 * i + 1] = Int16(-v / 2)
        }
        let url = dir.appendingPathComponent("stereo-\(rate).wav")
        TestAudio.writeInt16(samples, channels: 2, sampleRate: rate, to: url)
        return url
    }

    func all(_ s: AudioStream) throws -> [Float] {
        var out: [Float] = []
        while true {
            let b = try s.read()
            if b.isEmpty { return out }
            out += b
        }
    }

    @Test("at the file's rate: the mixed-down samples of a whole read, exactly")
    func sameRate() throws {
        let dir = try TestFolder.make("stream")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = Self.stereo(dir, frames: 150_000, rate: 16000)
        let s = try AudioStream(url, sampleRate: 16000)
        #expect(s.length == 150_000 && s.channels == 2)
        #expect(try all(s) == AudioReader.read(url).samples)
    }

    @Test("resampled block by block: the whole read's length, and its samples within 1e-4")
    func resampled() throws {
        let dir = try TestFolder.make("stream-rate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = Self.stereo(dir, frames: 200_000, rate: 44100)
        let s = try AudioStream(url, sampleRate: 16000)
        let streamed = try all(s)
        let whole = try AudioReader.read(url, options: AudioReadOptions(sampleRate: 16000)).samples
        #expect(streamed.count == whole.count && streamed.count == s.length)
        expectClose(streamed, whole, tolerance: 1e-4, "streamed against whole")
    }
}
