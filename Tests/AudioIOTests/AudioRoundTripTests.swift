import Foundation
import TKDCore
import TestSupport
import Testing

@testable import AudioIO

@Suite("Audio read and write")
struct AudioRoundTripTests {
    @Test("PCM16 → Float → PCM16 is bit-exact for every 16-bit value")
    func pcm16BitExact() throws {
        let dir = (try! TestFolder.make("pcm16"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let all = (Int(Int16.min)...Int(Int16.max)).map { Int16($0) }
        let original = dir.appendingPathComponent("all.wav")
        TestAudio.writeInt16(all, channels: 1, sampleRate: 16000, to: original)

        let buffer = try AudioReader.read(original)
        #expect(buffer.sampleRate == 16000)
        #expect(buffer.samples.count == all.count)
        // Reading scales by 1/32768 exactly.
        #expect(buffer.samples.first == -1.0)
        #expect(zip(buffer.samples, all).allSatisfy { $0 == Float($1) / 32768 })

        let copy = dir.appendingPathComponent("copy.wav")
        let report = try AudioWriter.write(buffer.samples, sampleRate: 16000, to: copy)
        #expect(report.clippedSamples == 0)
        #expect(TestAudio.readInt16(copy) == all)
        #expect(try Data(contentsOf: copy) == Data(contentsOf: original), "same header and data bytes")
    }

    @Test("PCM24, float32 and FLAC round trips keep the values their encodings can hold")
    func otherFormats() throws {
        let dir = (try! TestFolder.make("formats"))
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SystemRandomNumberGenerator()
        let x = (0..<4000).map { _ in Float.random(in: -0.99...0.99, using: &rng) }
        for format in AudioFormat.allCases {
            let url = dir.appendingPathComponent("x.\(format.rawValue).\(format.fileExtension)")
            try AudioWriter.write(x, sampleRate: 8000, to: url, format: format)
            let back = try AudioReader.read(url)
            #expect(back.sampleRate == 8000)
            let step: Float
            switch format {
            case .pcm16, .flac: step = 1 / 32768
            case .pcm24: step = 1 / 8_388_608
            case .float32: step = 0
            }
            let maxErr = zip(x, back.samples).map { abs($0 - $1) }.max() ?? 0
            #expect(maxErr <= step / 2 + 1e-9, "\(format): max error \(maxErr)")
            let info = try AudioReader.info(url)
            #expect(info.container == (format == .flac ? "FLAC" : "WAV"))
            #expect(info.frames == x.count)
        }
    }

    @Test("samples beyond full scale are saturated, not wrapped, and counted")
    func clipping() throws {
        let dir = (try! TestFolder.make("clip"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let x: [Float] = [1.5, -1.5, 0.5, 1.0, -1.0, 32767 / 32768]
        let url = dir.appendingPathComponent("clip.wav")
        let report = try AudioWriter.write(x, sampleRate: 16000, to: url)
        #expect(report.clippedSamples == 3, "1.5, -1.5 and 1.0 do not fit in PCM16; -1.0 and 32767/32768 do")
        #expect(TestAudio.readInt16(url) == [32767, -32768, 16384, 32767, -32768, 32767])
        let floatURL = dir.appendingPathComponent("clip-float.wav")
        let floatReport = try AudioWriter.write(x, sampleRate: 16000, to: floatURL, format: .float32)
        #expect(floatReport.clippedSamples == 0)
        #expect(try AudioReader.read(floatURL).samples == x)
        #expect(throws: AudioError.self) { try AudioWriter.write([Float.nan], sampleRate: 16000, to: url) }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["clip-float.wav", "clip.wav"],
            "a failed write leaves no temporary file and keeps the old file")
    }

    @Test("stereo is down-mixed by the mean (or the first channel, or refused)")
    func downMix() throws {
        let dir = (try! TestFolder.make("mix"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("stereo.wav")
        TestAudio.writeInt16([1000, 3000, -2000, 0, 16384, -16384], channels: 2, sampleRate: 16000, to: url)
        #expect(try AudioReader.read(url).samples == [2000 / 32768, -1000 / 32768, 0])
        #expect(
            try AudioReader.read(url, options: AudioReadOptions(downMix: .first)).samples
                == [1000 / 32768, -2000 / 32768, 0.5])
        #expect(throws: AudioError.unexpectedChannels(path: url.path, channels: 2, expected: 1)) {
            try AudioReader.read(url, options: AudioReadOptions(downMix: .requireMono))
        }
    }

    @Test("a windowed read equals the same slice of a full read, for WAV, FLAC and stereo")
    func windowedRead() throws {
        let dir = (try! TestFolder.make("window"))
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SystemRandomNumberGenerator()
        let ints = (0..<48000).map { _ in Int16.random(in: -20000...20000, using: &rng) }
        let cases: [(String, Int, Int32)] = [
            ("mono.wav", 1, Int32(0x010002)), ("mono.flac", 1, Int32(0x170002)), ("stereo.wav", 2, Int32(0x010002)),
        ]
        for (name, channels, format) in cases {
            let url = dir.appendingPathComponent(name)
            TestAudio.writeInt16(ints, channels: channels, sampleRate: 16000, to: url, format: format)
            let full = try AudioReader.read(url).samples
            for (start, length) in [(0, 100), (12345, 4000), (48000 / channels - 7, 7), (500, 0)] {
                let w = try AudioReader.readWindow(url, start: start, length: length).samples
                #expect(w == Array(full[start..<(start + length)]), "\(name) [\(start), +\(length))")
            }
            #expect(throws: AudioError.self) {
                try AudioReader.readWindow(url, start: 48000 / channels - 5, length: 10)
            }
            #expect(throws: AudioError.self) { try AudioReader.readWindow(url, start: -1, length: 10) }
        }
    }

    @Test("levels: RMS, peak and dB")
    func levels() {
        let x = TestAudio.sine(frequency: 1000, sampleRate: 16000, count: 16000, amplitude: 0.5)
        #expect(abs(Levels.rms(x) - 0.5 / 2.squareRoot()) < 1e-6)
        #expect(abs(Double(Levels.peak(x)) - 0.5) < 1e-6)
        #expect(abs(Levels.dB(0.5) - (-6.0206)) < 1e-4)
        #expect(Levels.dB(0) == -.infinity)
        #expect(abs(Levels.amplitude(dB: -6.0206) - 0.5) < 1e-5)
    }

    @Test("the active span of a tone between silences is found to within a frame")
    func activeSpan() {
        var x = [Float](repeating: 0, count: 16000)
        let tone = TestAudio.sine(frequency: 440, sampleRate: 16000, count: 5000)
        x.replaceSubrange(4000..<9000, with: tone)
        let span = ActiveSpanDetector(frameLength: 160, thresholdDB: 40, floorRMS: 1e-5, marginSamples: 0).span(x)
        #expect(span == 4000..<9120, "frames are 160 samples: 4000 starts frame 25, 8999 ends in frame 56")
        #expect(ActiveSpanDetector().span([Float](repeating: 0, count: 1000)) == nil)
    }
}
