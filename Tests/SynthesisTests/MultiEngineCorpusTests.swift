import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Synthesis

/// Issue 15, point 1: speakers from three Debian TTS engines, per-utterance variation, synthetic rooms, a
/// 60/20/20 speaker split, recorded per speaker in the corpus's JSON, deterministic whatever --jobs.
@Suite("Demo corpus: espeak-ng, flite and festival speakers")
struct MultiEngineCorpusTests {
    static let engines: [SpeechEngineKind] = [.espeakNG, .flite, .festival]

    @Test("the speaker table takes turns over the engines, cycles their voices and splits 60/20/20 with held-out 2")
    func table() {
        let speakers = DemoSpeaker.table(count: 60, engines: Self.engines, heldOut: 2)
        #expect(Set(speakers.map(\.id)).count == 60)
        for (i, s) in speakers.enumerated() {
            #expect(s.engine == Self.engines[i % 3])
            #expect(s.engine.voices.contains(s.voice))
            #expect(SplitRule.official.split(of: "\(s.id)_nohash_0.wav") == s.split)
            #expect(s.engine == .espeakNG ? s.warp == 1 : (0.92...1.08).contains(s.warp))
            if s.engine != .espeakNG { #expect(s.variant.isEmpty && (88...112).contains(s.rate)) }
        }
        let shares = Dictionary(grouping: speakers, by: \.split).mapValues(\.count)
        #expect(shares == [.training: 36, .validation: 12, .testing: 12])
        // Every split hears every engine.
        for split in Split.allCases {
            #expect(Set(speakers.filter { $0.split == split }.map(\.engine)) == Set(Self.engines), "\(split)")
        }
        // Every voice of flite and festival is used.
        #expect(Set(speakers.filter { $0.engine == .flite }.map(\.voice)) == Set(SpeechEngineKind.flite.voices))
        #expect(Set(speakers.filter { $0.engine == .festival }.map(\.voice)) == Set(SpeechEngineKind.festival.voices))
        // espeak-ng alone with held-out 1 is the table tkd has always made (ids stable across versions).
        let plain = DemoSpeaker.table(count: 10)
        #expect(plain.map(\.id) == DemoSpeaker.table(count: 10, engines: [.espeakNG], heldOut: 1).map(\.id))
        #expect(plain.allSatisfy { $0.engine == .espeakNG && $0.warp == 1 })
        #expect(
            (0..<10).map { DemoSpeaker.targetSplit(index: $0, heldOut: 2) } == [
                .training, .validation, .validation, .testing, .testing, .training, .training, .training, .training,
                .training,
            ])
    }

    func build(_ name: String, jobs: Int, reverb: Double) throws -> URL {
        let out = TestFolder.path(name)
        try? FileManager.default.removeItem(at: out)
        var o = DemoCorpusOptions(output: out)
        o.speakers = 3
        o.utterancesPerWord = 2
        o.engines = Self.engines
        o.reverbShare = reverb
        o.seed = 4
        o.jobs = jobs
        o.progress = .quiet
        try DemoCorpusBuilder(options: o, toolVersion: TKDVersion.current).build()
        return out
    }

    @Test("a three-engine corpus: speech from every engine, the engines recorded, identical bytes whatever --jobs")
    func corpus() throws {
        let a = try build("engines-a", jobs: 2, reverb: 0.5)
        defer { try? FileManager.default.removeItem(at: a) }
        let manifest = try JSONDecoder().decode(
            DemoCorpusManifest.self, from: Data(contentsOf: a.appendingPathComponent("demo_corpus.json")))
        #expect(Set(manifest.engineVersions?.keys.map { $0 } ?? []) == ["espeak-ng", "flite", "festival"])
        #expect(manifest.reverbShare == 0.5 && manifest.heldOut == 1 && manifest.complete)
        #expect(manifest.speakers.map(\.engine) == Self.engines)
        let tsv = try String(contentsOf: a.appendingPathComponent("speakers.tsv"), encoding: .utf8)
        #expect(tsv.hasPrefix("id\tindex\tsplit\tengine\tvoice\tvariant\tpitch\trate\twarp\n"))
        let detector = ActiveSpanDetector(frameLength: 160, thresholdDB: 30, floorRMS: 1e-3, marginSamples: 0)
        for s in manifest.speakers {
            for word in ["yes", "backward", "sheila"] {
                let x = try AudioReader.read(a.appendingPathComponent("\(word)/\(s.id)_nohash_1.wav")).samples
                #expect(x.count == 16000)
                let span = try #require(detector.span(x), "\(s.engine) \(word) has speech")
                #expect(span.count > 1600, "\(s.engine) \(word): \(span.count) samples of speech")
            }
        }
        // Same bytes with one thread; the room changes the audio.
        let b = try build("engines-b", jobs: 1, reverb: 0.5)
        defer { try? FileManager.default.removeItem(at: b) }
        #expect(try TestFolder.digests(a) == TestFolder.digests(b))
        let dry = try build("engines-dry", jobs: 2, reverb: 0)
        defer { try? FileManager.default.removeItem(at: dry) }
        let da = try TestFolder.digests(a), dd = try TestFolder.digests(dry)
        let changed = da.keys.filter { $0.hasSuffix(".wav") && !$0.hasPrefix("_") && da[$0] != dd[$0] }.count
        // About half of the 210 clips are spoken in a room (the others are the same bytes as the dry corpus).
        #expect(changed > 60 && changed < 150, "\(changed) clips changed by --reverb 0.5")
    }

    @Test("the room: a decaying tail after the direct sound, RT60 as asked")
    func room() {
        var rng = CounterRNG(seed: 1, key: ["room"])
        var click = [Float](repeating: 0, count: 100)
        click[0] = 1
        let y = Room.reverberate(click, sampleRate: 16000, rt60: 0.3, rng: &rng)
        #expect(y.count == 100 + Int(0.3 * 2 / 3 * 16000), "the tail: ⌊2/3 · RT60 · rate⌋ samples")
        #expect(y[0] == 1)
        // Energy in the first and last 20 ms of the tail: the decay is 60 dB per 0.3 s, so 40 dB over the 0.2 s.
        func energy(_ r: Range<Int>) -> Double { r.reduce(0) { $0 + Double(y[$1] * y[$1]) } }
        let drop = 10 * log10(energy(1..<321) / energy((y.count - 320)..<y.count))
        #expect(drop > 30 && drop < 45, "tail decays by \(drop) dB")
    }
}
