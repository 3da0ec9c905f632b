import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Synthesis

@Suite("Demo corpus")
struct DemoCorpusTests {
    @Test("speaker ids are stable 8-hex-digit ids whose official split is 80/10/10 and never empty")
    func speakerTable() {
        let hundred = DemoSpeaker.table(count: 100)
        #expect(Set(hundred.map(\.id)).count == 100)
        for s in hundred {
            #expect(s.id.count == 8 && s.id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            #expect(SplitRule.official.split(of: "\(s.id)_nohash_0.wav") == s.split)
        }
        let shares = Dictionary(grouping: hundred, by: \.split).mapValues(\.count)
        #expect(shares == [.training: 80, .validation: 10, .testing: 10])
        #expect(
            Set(hundred.map { "\($0.voice)+\($0.variant)/\($0.pitch)/\($0.rate)" }).count == 100,
            "every speaker is a distinct voice/variant/pitch/rate combination")
        // Stable: speaker i does not depend on how many speakers are made.
        #expect(Array(hundred.prefix(3)) == DemoSpeaker.table(count: 3))
        #expect(Set(DemoSpeaker.table(count: 3).map(\.split)) == Set(Split.allCases))
    }

    @Test("noises are deterministic, over a minute long, at their level; non-stationary ones vary over time")
    func noises() {
        for kind in NoiseKind.allCases {
            let x = NoiseSynthesizer.make(kind, sampleRate: 16000, seed: 5)
            #expect(x.count >= 60 * 16000)
            #expect(x == NoiseSynthesizer.make(kind, sampleRate: 16000, seed: 5))
            if kind == .white { #expect(x != NoiseSynthesizer.make(kind, sampleRate: 16000, seed: 6)) }
            #expect(Levels.peak(x) <= 0.95 + 1e-6)
            let rmsDB = Levels.dB(Levels.rms(x))
            #expect(rmsDB <= kind.rmsDB + 0.01 && rmsDB > -40, "\(kind): \(rmsDB) dBFS")
            // Spread, in dB, of the level of frames of `length` samples.
            func levelSpread(_ length: Int) -> Double {
                let frames = stride(from: 0, to: x.count - length, by: length).map {
                    Levels.dB(Levels.rms(x, range: $0..<($0 + length)))
                }
                let mean = frames.reduce(0, +) / Double(frames.count)
                return (frames.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(frames.count)).squareRoot()
            }
            switch kind {
            // Stationary: the level of one-second frames hardly moves (pink noise's strong low
            // frequencies make shorter frames wander by about a dB).
            case .white, .pink: #expect(levelSpread(16000) < 0.5, "\(kind) should be stationary")
            // Non-stationary: 100-ms frames vary by several dB.
            case .modulated, .bursty: #expect(levelSpread(1600) > 2, "\(kind) should be non-stationary")
            case .brown, .hum: break
            }
        }
    }

    @Test("the demo corpus has the official v2 layout, 1-s 16-kHz clips, lists by the official rule and six noises")
    func layout() throws {
        let root = try SharedDemoCorpus.url()
        var scanner = CorpusScanner()
        scanner.jobs = 2
        let index = try scanner.scan(root)
        #expect(index.problems == [])
        #expect(index.version == .v2)
        #expect(index.splitSource == .listFiles)
        #expect(index.words == DemoCorpusBuilder.wordsV2)
        #expect(index.words.count == 35)
        #expect(index.utterances.count == 35 * SharedDemoCorpus.speakers * SharedDemoCorpus.utterances)
        #expect(index.utterances.allSatisfy { $0.frames == 16000 && $0.sampleRate == 16000 })
        #expect(index.utterances.allSatisfy { $0.split == SplitRule.official.split(of: $0.path) })
        #expect(Set(index.speakers().keys) == Set(Split.allCases), "every split has a speaker")
        #expect(index.noise.count == 6)
        #expect(index.noise.allSatisfy { $0.durationSeconds >= 60 && $0.sampleRate == 16000 })
        // The list files hold exactly the validation and testing clips.
        let validation = try CorpusScanner.readList(root.appendingPathComponent("validation_list.txt"))
        #expect(validation == index.utterances.filter { $0.split == .validation }.map(\.path).sorted())
        let manifest = try JSONDecoder().decode(
            DemoCorpusManifest.self,
            from: Data(contentsOf: root.appendingPathComponent("demo_corpus.json")))
        #expect(manifest.complete)
        #expect(manifest.counts.values.reduce(0, +) == index.utterances.count)
    }

    @Test("clips hold trimmed speech at varying offsets over a faint floor")
    func clips() throws {
        let root = try SharedDemoCorpus.url()
        let index = try CorpusScanner().scan(root)
        var onsets = Set<Int>()
        let detector = ActiveSpanDetector(frameLength: 160, thresholdDB: 30, floorRMS: 1e-3, marginSamples: 0)
        for u in index.utterances.prefix(40) {
            let x = try AudioReader.read(root.appendingPathComponent(u.path)).samples
            let peakDB = Levels.dB(Double(Levels.peak(x)))
            #expect(peakDB > -10 && peakDB < -2.5, "\(u.path) peak \(peakDB) dBFS")
            let span = try #require(detector.span(x), "\(u.path) has speech")
            #expect(span.count > 1600 && span.count < 16000, "\(u.path) speech span \(span)")
            onsets.insert(span.lowerBound / 160)
            // Outside the speech the floor is faint but not digital silence.
            let floor = Levels.dB(Levels.rms(x, range: 0..<max(1, min(span.lowerBound, 800))))
            #expect(span.lowerBound < 160 || (floor < -55 && floor > -80), "\(u.path) floor \(floor) dBFS")
        }
        #expect(onsets.count > 10, "speech starts at many different places: \(onsets.sorted())")
    }

    @Test("same seed gives identical bytes whatever --jobs; a killed build resumes to the same bytes")
    func determinismAndResume() throws {
        let shared = try SharedDemoCorpus.url()
        let serial = try SharedDemoCorpus.build(jobs: 1, name: "serial")
        defer { try? FileManager.default.removeItem(at: serial) }
        let reference = try TestFolder.digests(shared)
        #expect(try TestFolder.digests(serial) == reference)

        // Simulate an interrupted run: drop some clips and a noise, mark the corpus unfinished, rerun.
        var manifest = try JSONDecoder().decode(
            DemoCorpusManifest.self,
            from: Data(contentsOf: serial.appendingPathComponent("demo_corpus.json")))
        manifest.complete = false
        try AtomicFile.write(
            try CanonicalJSON.encodePretty(manifest), to: serial.appendingPathComponent("demo_corpus.json"))
        for path in reference.keys.sorted().filter({ $0.hasPrefix("yes/") || $0.hasPrefix("_background_noise_/pink") })
        {
            try FileManager.default.removeItem(at: serial.appendingPathComponent(path))
        }
        try FileManager.default.removeItem(at: serial.appendingPathComponent("testing_list.txt"))
        var o = DemoCorpusOptions(output: serial)
        o.speakers = SharedDemoCorpus.speakers
        o.utterancesPerWord = SharedDemoCorpus.utterances
        o.seed = 11
        o.progress = .quiet
        try DemoCorpusBuilder(options: o, toolVersion: TKDVersion.current).build()
        #expect(try TestFolder.digests(serial) == reference)
    }

    @Test("another seed changes the audio but not the speakers")
    func otherSeed() throws {
        let shared = try SharedDemoCorpus.url()
        let other = try SharedDemoCorpus.build(jobs: 2, name: "seed", seed: 12)
        defer { try? FileManager.default.removeItem(at: other) }
        let a = try TestFolder.digests(shared), b = try TestFolder.digests(other)
        #expect(Set(a.keys) == Set(b.keys))
        #expect(a["validation_list.txt"] == b["validation_list.txt"])
        #expect(a["speakers.tsv"] == b["speakers.tsv"])
        #expect(a.filter { $0.key.hasSuffix(".wav") }.allSatisfy { b[$0.key] != $0.value })
    }

    @Test("the output folder is protected: foreign folders are refused, other settings need --overwrite")
    func outputProtection() throws {
        let dir = TestFolder.path("foreign")
        defer { try? FileManager.default.removeItem(at: dir) }
        try AtomicFile.write(Data("keep me".utf8), to: dir.appendingPathComponent("precious.txt"))
        var o = DemoCorpusOptions(output: dir)
        o.speakers = 3
        o.progress = .quiet
        #expect(throws: SynthesisError.outputNotEmpty(path: dir.path)) {
            try DemoCorpusBuilder(options: o, toolVersion: TKDVersion.current).build()
        }
        #expect(try String(contentsOf: dir.appendingPathComponent("precious.txt"), encoding: .utf8) == "keep me")

        let shared = try SharedDemoCorpus.url()
        var other = DemoCorpusOptions(output: shared)
        other.speakers = 3
        other.utterancesPerWord = SharedDemoCorpus.utterances
        other.seed = 99
        #expect { try DemoCorpusBuilder(options: other, toolVersion: TKDVersion.current).build() } throws: { e in
            guard case let .outputMismatch(_, field, found, requested) = e as? SynthesisError else { return false }
            return field == "seed" && found == "11" && requested == "99"
        }
        o.speakers = 2
        #expect(throws: SynthesisError.self) {
            try DemoCorpusBuilder(options: o, toolVersion: TKDVersion.current).build()
        }
    }
}
