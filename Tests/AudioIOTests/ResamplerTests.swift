import Foundation
import TestSupport
import Testing

@testable import AudioIO

@Suite("Resampling")
struct ResamplerTests {
    /// Level tolerance from the issue: a resampled tone keeps its level within 0.1 dB.
    static let levelToleranceDB = 0.1

    @Test("a 1 kHz sine keeps its frequency, level and exact length", arguments: [44100, 8000, 22050, 48000])
    func sine(from rate: Int) throws {
        let n = rate * 3 / 2 + 1  // an odd length: round(n · 16000 / rate) is not an integer division
        let x = TestAudio.sine(frequency: 1000, sampleRate: rate, count: n, amplitude: 0.5)
        let y = try Resampler.resample(x, from: rate, to: 16000)
        let expectedLength = Int((Double(n) * 16000 / Double(rate)).rounded())
        #expect(y.count == expectedLength)
        #expect(y.count == Resampler.outputLength(inputFrames: n, from: rate, to: 16000))

        // Level on the middle (away from the filter's edge transients).
        let middle = 2000..<(y.count - 2000)
        let levelIn = Levels.dB(Levels.rms(x, range: 4000..<(x.count - 4000)))
        let levelOut = Levels.dB(Levels.rms(y, range: middle))
        #expect(abs(levelIn - levelOut) < Self.levelToleranceDB, "in \(levelIn) dB, out \(levelOut) dB")

        // Peak bin of a 1600-point spectrum at 16 kHz: 10 Hz per bin, 1 kHz is bin 100.
        let spectrum = TestAudio.spectrum(y[4000..<5600])
        let peak = spectrum.indices.max { spectrum[$0] < spectrum[$1] }!
        #expect(peak == 100)
    }

    @Test("output length is round(n · out / in) for many lengths, including the ones libsamplerate gets wrong")
    func lengths() throws {
        for (from, to) in [(44100, 16000), (8000, 16000), (16000, 8000), (22050, 16000), (48000, 44100)] {
            for n in [1, 2, 3, 7, 100, 441, 1001, 9999] {
                let x = (0..<n).map { Float(sin(Double($0) * 0.1)) * 0.3 }
                let y = try Resampler.resample(x, from: from, to: to, quality: .sincFastest)
                #expect(y.count == Int((Double(n) * Double(to) / Double(from)).rounded()), "\(n) at \(from)→\(to)")
            }
        }
    }

    @Test("reading at another rate resamples, or refuses when resampling is off")
    func readAtRate() throws {
        let dir = (try! TestFolder.make("rate"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("44k.wav")
        try AudioWriter.write(
            TestAudio.sine(frequency: 1000, sampleRate: 44100, count: 44100), sampleRate: 44100, to: url)
        let b = try AudioReader.read(url, options: AudioReadOptions(sampleRate: 16000))
        #expect(b.sampleRate == 16000 && b.samples.count == 16000)
        #expect(throws: AudioError.unexpectedSampleRate(path: url.path, sampleRate: 44100, expected: 16000)) {
            try AudioReader.read(url, options: AudioReadOptions(sampleRate: 16000, allowResample: false))
        }
        #expect(throws: AudioError.self) { try Resampler.resample([1, 2], from: 0, to: 16000) }
    }
}
