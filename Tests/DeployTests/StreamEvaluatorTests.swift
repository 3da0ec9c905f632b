import DatasetFormat
import Foundation
import TKDCore
import Testing

@testable import Deploy

/// Issue 25, part 2: the stream evaluation's trigger replay, matching and curve, on a hand-made stream whose
/// detections are counted by hand.
@Suite("Stream evaluation: a hand-made stream")
struct StreamEvaluatorTests {
    /// 20 s at 1 kHz: `yes` at 2-3 s (speech 2.2-2.8 s), `no` at 8-9 s (speech 8.1-8.8 s), the distractor `house`
    /// at 14-15 s.
    static func record() -> StreamRecord {
        func event(
            _ kind: StreamEvent.Kind, _ word: String, _ label: String?, _ index: Int?, _ onset: Int, _ on: Int,
            _ off: Int
        ) -> StreamEvent {
            StreamEvent(
                kind: kind, word: word, label: label, labelIndex: index,
                placement: KeywordPlacement(
                    source: "\(word)/a_nohash_0.wav", sourceSHA256: String(repeating: "0", count: 64),
                    sourceNumSamples: 1000, word: word, speaker: "a", onsetSample: onset, offsetSample: onset + 1000,
                    speechOnsetSample: on, speechOffsetSample: off, gainDB: 0),
                snrDB: 0, snrDBAchieved: 0)
        }
        return StreamRecord(
            id: "pos_testing_00000", split: .testing, group: "pos", sampleRate: 1000, numSamples: 20000,
            audio: "audio/testing/pos_testing_00000.wav", audioSHA256: String(repeating: "0", count: 64), noise: [],
            noiseRepeatedSamples: 0, silences: [],
            events: [
                event(.target, "yes", "yes", 2, 2000, 2200, 2800), event(.target, "no", "no", 3, 8000, 8100, 8800),
                event(.distractor, "house", "_unknown_", 1, 14000, 14100, 14700),
            ], snrDefinition: .speechActive, scale: 1)
    }

    /// Windows of 1 s ending every 0.5 s. `yes` is 0.9 at the windows ending 2.5, 3.0 and 3.5 s and 0.6 at 15 s (on
    /// the distractor); `no` is 0.4 at 9.0 and 9.5 s and 0.95 at 18 s (in no event). The peak of the window ending
    /// at 2.5 s is at 2.5 s, inside `yes`'s speech.
    static func scores() -> SmoothedScores {
        var s = SmoothedScores()
        for end in stride(from: 1000, through: 20000, by: 500) {
            s.ends.append(end)
            let yes: Float = [2500, 3000, 3500].contains(end) ? 0.9 : end == 15000 ? 0.6 : 0
            let no: Float = [9000, 9500].contains(end) ? 0.4 : end == 18000 ? 0.95 : 0
            s.smoothed += [yes, no]
            s.peaks.append(end == 2500 ? 2.5 : Double(end) / 1000 - 0.5)
        }
        return s
    }

    func replay(_ threshold: Double) -> StreamEvaluator.Tally {
        var t = StreamEvaluator.Tally(hits: [0, 0], falseAccepts: [0, 0])
        StreamEvaluator.replay(
            Self.scores(), record: Self.record(), watchLabels: ["yes", "no"], threshold: threshold, cooldown: 1000,
            tolerance: 500, windowSamples: 1000, into: &t)
        return t
    }

    @Test("detections counted by hand at four thresholds: hits, false accepts, the cooldown, an event hit twice")
    func handCounts() {
        // 0.5: yes fires at 2.5 s (hit), not at 3.0 (cooldown), at 3.5 (the event is already hit: a false accept),
        // at 15 s (a distractor: a false accept); no stays below, except 18 s (no event: a false accept).
        let a = replay(0.5)
        #expect(a.hits == [1, 0] && a.falseAccepts == [2, 1])
        #expect(a.targetsHit == [true, false], "one outcome per target, in event order; the distractor has none")
        #expect(a.latencies.count == 1 && abs(a.latencies[0] - (-0.3)) < 1e-12)
        #expect(a.peakDistances == [0] && a.uniformShares == [0.3])
        // 0.3: no also fires at 9.0 s (a hit: inside [8, 9 + 0.5]), not at 9.5 (cooldown).
        let b = replay(0.3)
        #expect(b.hits == [1, 1] && b.falseAccepts == [2, 1])
        #expect(b.targetsHit == [true, true] && HexBits.encode(b.targetsHit) == "c")
        // Only the watched labels' targets are counted.
        var onlyNo = StreamEvaluator.Tally(hits: [0], falseAccepts: [0])
        var noScores = Self.scores()
        noScores.smoothed = noScores.smoothed.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        StreamEvaluator.replay(
            noScores, record: Self.record(), watchLabels: ["no"], threshold: 0.3, cooldown: 1000,
            tolerance: 500, windowSamples: 1000, into: &onlyNo)
        #expect(onlyNo.targetsHit == [true])
        #expect(b.latencies.count == 2 && abs(b.latencies[1] - 0.2) < 1e-12)
        // 0.92: only no at 18 s; 0.96: nothing.
        let c = replay(0.92), d = replay(0.96)
        #expect(c.hits == [0, 0] && c.falseAccepts == [0, 1])
        #expect(d.hits == [0, 0] && d.falseAccepts == [0, 0])
        // Tolerance: with `no` above the threshold only at the window ending 9.5 s, half a second after its
        // keyword's window, the detection is a hit with 500 ms of tolerance and a false accept with none.
        var late = Self.scores()
        for i in late.ends.indices where late.ends[i] == 9000 { late.smoothed[2 * i + 1] = 0 }
        for (tolerance, hits, fas) in [(500, [1, 1], [2, 1]), (0, [1, 0], [2, 2])] {
            var t = StreamEvaluator.Tally(hits: [0, 0], falseAccepts: [0, 0])
            StreamEvaluator.replay(
                late, record: Self.record(), watchLabels: ["yes", "no"], threshold: 0.3, cooldown: 1000,
                tolerance: tolerance, windowSamples: 1000, into: &t)
            #expect(t.hits == hits && t.falseAccepts == fas, "tolerance \(tolerance)")
        }
    }

    @Test("the curve: FRR at a fixed FA/hr is the best threshold's within it; the area is the recall envelope's")
    func curve() {
        let c = StreamEvaluator.curve(thresholds: [0, 0.5, 1], frr: [0, 0.2, 1], faPerHour: [3, 1, 0], targets: 5)
        #expect(c.frrAt05FAPerHour == 1 && c.thresholdAt05FAPerHour == 1)
        #expect(c.frrAt1FAPerHour == 0.2 && c.thresholdAt1FAPerHour == 0.5)
        // Recall 0 over [0, 1), 0.8 over [1, 2): area 0.8 of 2.
        #expect(abs(c.aucTo2FAPerHour! - 0.4) < 1e-12)
        let none = StreamEvaluator.curve(thresholds: [0, 1], frr: [0, 0], faPerHour: [1, 0], targets: 0)
        #expect(none.frrAt1FAPerHour == nil && none.aucTo2FAPerHour == nil)
        #expect(StreamEvaluator.sweep().count == 101 && StreamEvaluator.sweep()[37] == 0.37)
    }

    @Test("the hit summary: latency quantiles, attention peaks inside the span against the uniform share")
    func summary() {
        let s = StreamEvaluator.summary(replay(0.3), threshold: 0.3, localises: true)
        #expect(s.hits == 2 && s.latenciesSeconds.count == 2)
        #expect(abs(s.latencyMedianSeconds! - (-0.3 + 0.2) / 2) < 1e-12)
        // The 'no' hit's window ends at 9.0 s with its peak at 8.5 s: inside the speech 8.1-8.8 s.
        #expect(s.peakInSpan == 1 && s.peakDistanceMedianSeconds == 0)
        #expect(abs(s.uniformPeakInSpan! - (0.3 + 0.7) / 2) < 1e-12)
        #expect(StreamEvaluator.summary(replay(0.3), threshold: 0.3, localises: false).peakInSpan == nil)
    }
}
