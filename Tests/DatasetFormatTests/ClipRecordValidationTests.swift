import DatasetFormat
import Foundation
import Testing

/// Issue 16: a clip dataset's record fields are checked like the rest of a manifest — a hostile or garbled
/// label set, clip excerpt or event is named by its field before any stage reads samples by it.
@Suite("Clip record validation")
struct ClipRecordValidationTests {
    static func record() -> ExampleRecord {
        ExampleRecord(
            id: "dev-1-p001", split: .training, label: "b", labelIndex: 1, sampleRate: 16000, numSamples: 16000,
            audio: "audio/training/dev-1-p001.wav", audioSHA256: String(repeating: "0", count: 64), keyword: nil,
            noise: [], snrDB: nil, snrDBAchieved: nil, snrDefinition: nil, scale: 1, labels: ["b", "d"],
            labelIndices: [1, 3],
            clip: ClipExcerpt(
                id: "dev-1", source: "FSD50K.dev_audio/1.wav", sourceSHA256: String(repeating: "1", count: 64),
                sourceSampleRate: 44100, sourceNumSamples: 88200, clipNumSamples: 32000, startSample: 8000,
                numSamples: 16000, patch: 1, patches: 3),
            events: [EventSpan(label: "b", onsetSample: 100, offsetSample: 900)])
    }

    @Test("a well-formed clip record has no problems; each garbled field is named")
    func problems() {
        #expect(Self.record().problems.isEmpty)
        let cases: [(String, (inout ExampleRecord) -> Void)] = [
            ("labels", { $0.labelIndices = [1] }),
            (
                "labels",
                {
                    $0.labels = ["d", "b"]
                    $0.labelIndices = [3, 1]
                }
            ),
            (
                "label_indices",
                {
                    $0.labels = ["b", "b"]
                    $0.labelIndices = [1, 1]
                }
            ),
            ("labels", { $0.labelIndices = nil }),
            ("clip.source", { $0.clip!.source = "../../etc/passwd" }),
            ("clip.source", { $0.clip!.source = "/etc/passwd" }),
            ("clip.start_sample", { $0.clip!.startSample = 20000 }),
            (
                "clip.start_sample",
                {
                    $0.clip!.numSamples = 17000
                    $0.clip!.startSample = 0
                }
            ),
            ("clip.start_sample", { $0.clip!.startSample = Int.max - 10 }),
            ("clip.patch", { $0.clip!.patch = 3 }),
            ("clip.id", { $0.clip!.id = "../x" }),
            ("clip.source_sample_rate", { $0.clip!.sourceSampleRate = 0 }),
            ("events[0]", { $0.events = [EventSpan(label: "b", onsetSample: 900, offsetSample: 100)] }),
            ("events[0]", { $0.events = [EventSpan(label: "b", onsetSample: 0, offsetSample: 16001)] }),
        ]
        for (field, edit) in cases {
            var r = Self.record()
            edit(&r)
            #expect(r.problems.map(\.field).contains(field), "\(field): \(r.problems)")
        }
    }
}
