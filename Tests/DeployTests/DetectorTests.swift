import AudioIO
import DatasetFormat
import Foundation
import TestSupport
import Testing

@testable import Deploy

/// The detector's windowing, smoothing, threshold and cooldown, with a scorer whose probability is what the audio
/// says: label `a` scores each window's mean sample value, `b` one minus it, so a recording written with levels
/// at known times has detections at known times.
@Suite("Detector")
struct DetectorTests {
    final class LevelScorer: WindowScoring {
        let labels = ["a", "b"]
        let sampleRate = 1000
        let windowSamples: Int
        var stepCentresSeconds: [Double]? { [0.05, 0.15] }
        private(set) var scored = 0
        init(window: Int) { windowSamples = window }
        func score(_ windows: [[Float]]) throws -> (probabilities: [Float], attention: [Float]?) {
            scored += windows.count
            var p = [Float](), a = [Float]()
            for w in windows {
                let m = w.reduce(0, +) / Float(w.count)
                p += [m, 1 - m]
                let half = w.count / 2
                let first = w[..<half].reduce(0, +), second = w[half...].reduce(0, +)
                a += first >= second ? [1, 0] : [0, 1]
            }
            return (p, a)
        }
    }

    static func settings(
        hop: Int = 100, smoothing: Int = 1, cooldown: Int = 0, threshold: Double = 0.5, labels: [String] = ["a"]
    ) -> DeployManifest.DetectorSettings {
        .init(hopMs: hop, smoothingWindows: smoothing, cooldownMs: cooldown, threshold: threshold, labels: labels)
    }

    /// `seconds` of silence at 1 kHz with full-scale stretches (start, end in seconds); written as float WAV.
    static func recording(
        _ dir: URL, seconds: Double, loud: [(Double, Double)], rate: Int = 1000, channels: Int = 1
    )
        throws -> URL
    {
        let n = Int(seconds * Double(rate))
        let x = (0..<n).map { i -> Float in
            let t = Double(i) / Double(rate)
            return loud.contains { t >= $0.0 && t < $0.1 } ? 1 : 0
        }
        let url = dir.appendingPathComponent("r-\(rate)-\(channels).wav")
        try AudioWriter.write(x, sampleRate: rate, to: url, format: .float32)
        return url
    }

    func detections(_ url: URL, _ scorer: WindowScoring, _ s: DeployManifest.DetectorSettings) throws -> [Detection] {
        var out: [Detection] = []
        _ = try Detector(scorer: scorer, settings: s, batch: 3).run(url) { out.append($0) }
        return out
    }

    @Test("windows end every hop; a label fires on its first window at the threshold; the cooldown holds repeats")
    func firing() throws {
        let dir = try TestFolder.make("detector")
        defer { try? FileManager.default.removeItem(at: dir) }
        // 0.2-s windows, loud 1.0-1.3 s and 2.0-2.1 s.
        let url = try Self.recording(dir, seconds: 3, loud: [(1.0, 1.3), (2.0, 2.1)])
        let scorer = LevelScorer(window: 200)
        // Mean ≥ 0.5 when at least 100 of the window's 200 samples are loud: windows ending 1.1…1.4 s, 2.1, 2.2 s.
        let all = try detections(url, scorer, Self.settings())
        #expect(all.map(\.timeSeconds) == [1.1, 1.2, 1.3, 1.4, 2.1, 2.2])
        #expect(scorer.scored == 29, "windows ending 0.2, 0.3, …, 3.0 s")
        // A 250-ms cooldown: 1.1 fires; 1.2 and 1.3 are held (100 and 200 ms later); 1.4 fires; 2.1 fires, 2.2 is held.
        let cooled = try detections(url, LevelScorer(window: 200), Self.settings(cooldown: 250))
        #expect(cooled.map(\.timeSeconds) == [1.1, 1.4, 2.1])
        // Smoothing over 3 windows: the means of the last three windows' scores.
        let smooth = try detections(url, LevelScorer(window: 200), Self.settings(smoothing: 3, cooldown: 10_000))
        // (0 at 1.0 s, 0.5 at 1.1 s, 1 at 1.2 s: the first average to reach 0.5 ends at 1.2 s.)
        #expect(smooth.map(\.timeSeconds) == [1.2])
        #expect(smooth.first?.score == 0.5)
        // Localisation: the step where the attention peaks, from the window's start.
        #expect(all[0].peakSeconds == 0.9 + 0.15)
        // Label b fires during the silence; the threshold 0.99 of a never does.
        #expect(
            try detections(url, LevelScorer(window: 200), Self.settings(threshold: 0.99)).map(\.timeSeconds)
                == [1.2, 1.3])
        #expect(try detections(url, LevelScorer(window: 200), Self.settings(cooldown: 5000, labels: ["b"])).count == 1)
    }

    @Test("a recording shorter than one window is padded to one; an empty one is refused")
    func shortAndEmpty() throws {
        let dir = try TestFolder.make("detector-short")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = try Self.recording(dir, seconds: 0.15, loud: [(0, 0.15)])
        let scorer = LevelScorer(window: 200)
        var got: [Detection] = []
        let summary = try Detector(scorer: scorer, settings: Self.settings()).run(url) { got.append($0) }
        #expect(summary.padded && summary.windows == 1)
        #expect(got.count == 1 && abs(got[0].score - 0.75) < 1e-6, "150 loud samples of 200")
        let empty = dir.appendingPathComponent("empty.wav")
        try AudioWriter.write([], sampleRate: 1000, to: empty)
        #expect(throws: (any Error).self) {
            _ = try Detector(scorer: scorer, settings: Self.settings()).run(empty) { _ in }
        }
        let text = dir.appendingPathComponent("notes.wav")
        try Data("not audio".utf8).write(to: text)
        do {
            _ = try Detector(scorer: scorer, settings: Self.settings()).run(text) { _ in }
            Issue.record("a text file was scored")
        } catch { #expect("\(error)".contains("notes.wav"), "\(error)") }
    }

    @Test("another rate is resampled and stereo is mixed down, with the detections where the levels are")
    func resampledStereo() throws {
        let dir = try TestFolder.make("detector-rate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let n = 4 * 8000
        var stereo = [Float](repeating: 0, count: 2 * n)
        for i in 0..<n where Double(i) / 8000 >= 1.0 && Double(i) / 8000 < 1.3 {
            stereo[2 * i] = 1
            stereo[2 * i + 1] = 1
        }
        let url = dir.appendingPathComponent("stereo.wav")
        try TestWAV.writeStereoFloat(stereo, rate: 8000, to: url)
        // Threshold 0.6: the window ending 1.1 s is half loud (about 0.5 after the resampler's smoothing of the
        // edge), the one ending 1.2 s all loud.
        let got = try detections(url, LevelScorer(window: 200), Self.settings(cooldown: 10_000, threshold: 0.6))
        #expect(got.map(\.timeSeconds) == [1.2], "\(got)")
    }

    @Test("settings are checked against the model")
    func settingsChecked() {
        let scorer = LevelScorer(window: 200)
        #expect(throws: DeployError.self) { try Detector(scorer: scorer, settings: Self.settings(labels: ["c"])) }
        #expect(throws: DeployError.self) { try Detector(scorer: scorer, settings: Self.settings(hop: 0)) }
        #expect(throws: DeployError.self) { try Detector(scorer: scorer, settings: Self.settings(threshold: 2)) }
    }
}

/// A two-channel float WAV (AudioWriter writes mono), written field by field.
enum TestWAV {
    static func writeStereoFloat(_ interleaved: [Float], rate: Int, to url: URL) throws {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        let bytes = UInt32(interleaved.count * 4)
        d.append(contentsOf: Array("RIFF".utf8))
        u32(36 + bytes)
        d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16)
        u16(3)
        u16(2)
        u32(UInt32(rate))
        u32(UInt32(rate * 8))
        u16(8)
        u16(32)
        d.append(contentsOf: Array("data".utf8))
        u32(bytes)
        for v in interleaved { u32(v.bitPattern) }
        try d.write(to: url)
    }
}
