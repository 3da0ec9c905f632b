import DatasetFormat
import Foundation
import Testing

/// The rollout localisation metric that `cache.json`'s summary and `tkd verify` both use.
@Suite("Rollout localisation metric")
struct LocalisationMetricTests {
    @Test("mass inside the span, peak-in-span rate and the uniform baseline, by hand")
    func byHand() {
        var m = RolloutLocalisation()
        let centres: [Double] = [0, 10, 20, 30]
        // Span [10, 25) holds frames 1 and 2: mass 0.5, peak (frame 3) outside, share 2/4.
        m.add([0.1, 0.2, 0.3, 0.4], centres: centres, speechOnset: 10, speechOffset: 25)
        // Span [0, 11) holds frames 0 and 1: mass 0.9, peak (frame 0) inside, share 2/4.
        m.add([0.6, 0.3, 0.05, 0.05], centres: centres, speechOnset: 0, speechOffset: 11)
        #expect(m.examples == 2)
        #expect(abs(m.massInSpeech - 0.7) < 1e-7, "\(m.massInSpeech)")
        #expect(m.peakInSpeech == 0.5)
        #expect(m.spanShare == 0.5)
    }

    @Test("a frame centre on the span's end is outside it; empty vectors and no examples give zeros")
    func edges() {
        var m = RolloutLocalisation()
        #expect(m.massInSpeech == 0 && m.peakInSpeech == 0 && m.spanShare == 0)
        m.add([], centres: [], speechOnset: 0, speechOffset: 10)
        #expect(m.examples == 0)
        m.add([0.5, 0.5], centres: [0, 10], speechOnset: 0, speechOffset: 10)
        #expect(m.massInSpeech == 0.5 && m.spanShare == 0.5 && m.peakInSpeech == 1)
    }

    @Test("the frame centres of a cache: hop·j plus the receptive field's half")
    func centres() {
        let info = TeacherCacheInfo(
            fingerprint: "ab", teacher: "t", weightsSHA256: "", configSHA256: "", rollout: Rollout(),
            rolloutRow: .mean,
            dtype: .float32, examplesPerShard: 1, manifestsSHA256: "", sampleRate: 16_000, frameHop: 320,
            frameCentreOffset: 200, teacherLabels: nil)
        #expect(info.frameCentres(3) == [200, 520, 840])
    }
}
