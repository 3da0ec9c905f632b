import DatasetFormat
import Foundation
import Testing

@Suite("dataset.json noise_usage")
struct NoiseUsageTests {
    static func record(_ id: String, _ split: Split, _ spans: [(String, Int, Int)]) -> ExampleRecord {
        var dest = 0
        let noise = spans.map { (source, start, count) -> NoiseSegment in
            defer { dest += count }
            return NoiseSegment(
                source: source, sourceSHA256: "", sourceStartSample: start, numSamples: count, destStartSample: dest,
                gainDB: 0, fadeInSamples: 0, fadeOutSamples: 0)
        }
        return ExampleRecord(
            id: id, split: split, label: "_silence_", labelIndex: 0, sampleRate: 10, numSamples: dest,
            audio: "audio/\(id).wav", audioSHA256: "", keyword: nil, noise: noise, snrDB: nil, snrDBAchieved: nil,
            snrDefinition: nil, scale: 1)
    }

    @Test("distinct seconds, looped share and the most examples on one sample, worked by hand")
    func byHand() {
        let records = [
            // a: [0, 50) of a; b: [30, 80) of a; c loops over [60, 100) of a twice, counted once, and reads b.
            Self.record("a", .validation, [("a.wav", 0, 50)]),
            Self.record("b", .validation, [("a.wav", 30, 50)]),
            Self.record("c", .validation, [("a.wav", 60, 40), ("a.wav", 60, 40), ("b.wav", 0, 20)]),
            // Spans that only touch do not overlap.
            Self.record("d", .testing, [("a.wav", 0, 10)]),
            Self.record("e", .testing, [("a.wav", 10, 10)]),
        ]
        let usage = NoiseUsage.measure(records, sampleRate: 10)
        #expect(usage["training"] == nil)
        // Validation: a.wav [0, 100) covered (10 s), b.wav [0, 20) (2 s); [60, 80) lies under b and c.
        #expect(
            usage["validation"]
                == NoiseUsage(examples: 3, distinctSeconds: 12, loopedShare: 1.0 / 3, maxExamplesPerSample: 2))
        #expect(
            usage["testing"] == NoiseUsage(examples: 2, distinctSeconds: 2, loopedShare: 0, maxExamplesPerSample: 1))
    }
}
