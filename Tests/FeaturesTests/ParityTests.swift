import DatasetFormat
import Foundation
import TensorStore
import Testing

@testable import Features

/// Parity of the presets with the reference libraries, on fixtures written by
/// Scripts/reference/features.py (torchaudio, librosa, kaldi-native-fbank/torchaudio.compliance.kaldi,
/// and a numpy implementation of the kws_streaming front end).
@Suite("Front-end parity with the reference libraries")
struct ParityTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let signals = ["speech", "noise", "chirp", "tone"]
    static let rates = [16000, 8000]

    /// The tolerances: dB presets within 0.01 dB (max) and 0.001 dB (mean) on bins within 80 dB
    /// of their frame's maximum; Kaldi fbank within 0.005 nats on bins within 18.4 nats (80 dB).
    static let dbMaxError: Float = 0.01, dbMeanError: Float = 0.001, dbRange: Float = 80
    static let kaldiMaxError: Float = 0.005, kaldiRange: Float = 18.4
    /// kws_streaming MFCCs against float64 numpy: a DCT mixes all 40 log bands, so float32 rounding of
    /// the quietest bands (down to ln(1e-12)) reaches the coefficients; 2e-3 on values of order 10-250.
    static let mfccMaxError: Float = 2e-3

    struct Comparison: CustomStringConvertible {
        var maxError: Float = 0, meanError: Float = 0, count = 0, worst = (frame: 0, bin: 0), got: Float = 0,
            want: Float = 0
        var description: String {
            "max \(maxError) at frame \(worst.frame) bin \(worst.bin) (got \(got), want \(want)); mean \(meanError) "
                + "over \(count) bins"
        }
    }

    /// Errors over the bins within `range` of their frame's maximum in the reference (all bins when nil).
    static func compare(_ got: [Float], _ want: NPY.Array, range: Float?) -> Comparison {
        let bins = want.shape[1], frames = want.shape[0]
        var c = Comparison()
        var sum = 0.0
        for t in 0..<frames {
            let row = want.values[(t * bins)..<((t + 1) * bins)]
            let top = row.max()!
            for b in 0..<bins {
                let w = want.values[t * bins + b]
                if let range, w < top - range { continue }
                let e = abs(got[t * bins + b] - w)
                sum += Double(e)
                c.count += 1
                if e > c.maxError {
                    c.maxError = e
                    c.worst = (t, b)
                    c.got = got[t * bins + b]
                    c.want = w
                }
            }
        }
        c.meanError = Float(sum / Double(max(c.count, 1)))
        return c
    }

    static func run(_ preset: FrontEndPreset, signal: String, rate: Int) throws -> ([Float], NPY.Array) {
        let x = try NPY.read(fixtures.appendingPathComponent("\(signal)-\(rate).npy"))
        let want = try NPY.read(fixtures.appendingPathComponent("\(preset.rawValue)--\(signal)-\(rate).npy"))
        let fe = try FrontEnd(preset.config(sampleRate: rate))
        let got = fe.features(x.values)
        #expect(
            got.count == want.values.count && want.shape[1] == fe.config.featureCount,
            "\(preset.rawValue) \(signal) \(rate): \(got.count / fe.config.featureCount) frames, want \(want.shape)")
        #expect(fe.config.frameCount(samples: x.values.count) == want.shape[0])
        return (got, want)
    }

    @Test(
        "torchaudio-melspec and librosa-melspec match within 0.01 dB (mean 0.001 dB)",
        arguments: [FrontEndPreset.torchaudioMelspec, .librosaMelspec], rates)
    func decibels(preset: FrontEndPreset, rate: Int) throws {
        for s in Self.signals {
            let (got, want) = try Self.run(preset, signal: s, rate: rate)
            guard got.count == want.values.count else { continue }
            let c = Self.compare(got, want, range: Self.dbRange)
            print("parity \(preset.rawValue) \(s)-\(rate): \(c)")
            #expect(
                c.maxError <= Self.dbMaxError && c.meanError <= Self.dbMeanError,
                "\(preset.rawValue) \(s) \(rate): \(c)")
        }
    }

    @Test("kaldi-fbank matches torchaudio.compliance.kaldi within 0.005 nats", arguments: rates)
    func kaldi(rate: Int) throws {
        for s in Self.signals {
            let (got, want) = try Self.run(.kaldiFbank, signal: s, rate: rate)
            guard got.count == want.values.count else { continue }
            let c = Self.compare(got, want, range: Self.kaldiRange)
            print("parity kaldi-fbank \(s)-\(rate): \(c)")
            #expect(c.maxError <= Self.kaldiMaxError, "kaldi-fbank \(s) \(rate): \(c)")
        }
    }

    @Test(
        "kws-streaming MFCCs match the numpy implementation of Docs/students.md §1.2",
        arguments: [FrontEndPreset.kwsStreamingMFCC20, .kwsStreamingMFCC40, .kwsStreamingMFCC20Upper8000], rates)
    func kws(preset: FrontEndPreset, rate: Int) throws {
        for s in Self.signals {
            let (got, want) = try Self.run(preset, signal: s, rate: rate)
            guard got.count == want.values.count else { continue }
            let c = Self.compare(got, want, range: nil)
            print("parity \(preset.rawValue) \(s)-\(rate): \(c)")
            #expect(c.maxError <= Self.mfccMaxError, "\(preset.rawValue) \(s) \(rate): \(c)")
        }
    }

    @Test("the kws front end reproduces the reference numbers of Docs/students.md §1.2")
    func studentsReference() throws {
        let x = (0..<16000).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / 16000)) }
        let fe = try FrontEnd(FrontEndPreset.kwsStreamingMFCC20.config())
        let y = fe.features(x)
        #expect(y.count == 49 * 20)
        // The reference values of Docs/students.md §1.2 come from a float64 sine; ours is rounded to float32 (the
        // toolkit's
        // sample type), which moves the bands ~140 dB below the tone and, through the DCT, every
        // coefficient by up to ~0.01. On identical float32 input the fixture tests above hold to 2e-3.
        let float32InputTolerance: Float = 0.02
        let want: [Float] = [-52.43248, 14.78566, -11.12159, -9.51586, -3.01013]
        for k in 0..<5 {
            #expect(abs(y[10 * 20 + k] - want[k]) < float32InputTolerance, "c\(k): \(y[10 * 20 + k]) vs \(want[k])")
        }
        let mel = fe.filterbank.dense
        #expect(abs(mel.joined().reduce(0) { $0 + Double($1) } - 468.2094) < 1e-3)
        #expect((0..<513).last { k in mel.contains { $0[k] > 0 } } == 486)
        let silent = fe.features([Float](repeating: 0, count: 16000))
        #expect(abs(silent[0] - (-247.13937)) < 1e-3)
        #expect(silent[1..<20].allSatisfy { abs($0) < 1e-3 })
    }
}
