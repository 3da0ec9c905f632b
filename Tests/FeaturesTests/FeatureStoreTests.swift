import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import TensorStore
import TestSupport
import Testing

@testable import Features

@Suite("Feature store")
struct FeatureStoreTests {
    static func build(
        _ dataset: URL, preset: FrontEndPreset = .logmel40, jobs: Int = 2, shard: Shard = .whole,
        dtype: TensorDType = .float32
    ) throws -> FeatureStoreBuilder.Summary {
        var b = FeatureStoreBuilder(dataset: dataset, preset: preset)
        b.jobs = jobs
        b.shard = shard
        b.dtype = dtype
        b.progress = .quiet
        b.shardBytes = 3 * 112 * 40 * 4  // about three examples a shard, to exercise sharding
        return try b.run()
    }

    @Test("the store holds each example's features, identical whatever --jobs or --shard")
    func store() throws {
        let dataset = try TinyDataset.make()
        defer { try? FileManager.default.removeItem(at: dataset) }
        let summary = try Self.build(dataset, jobs: 1)
        let folder = dataset.appendingPathComponent("features/logmel40")
        let index = try #require(summary.index)
        #expect(index.entries.count == 9 && index.shards.count == 3)
        let reader = try ShardedStoreReader(folder)
        try reader.checkShards()
        let fe = try FrontEnd(FrontEndPreset.logmel40.config())
        for e in try ExampleRecord.loadAll(dataset: dataset) {
            let audio = try AudioReader.read(dataset.appendingPathComponent(e.audio))
            let want = fe.features(audio.samples)
            let (shape, got) = try reader.tensor(e.id)
            #expect(shape == [want.count / 40, 40] && got == want, "\(e.id)")
            #expect(try reader.withTensor(e.id) { buf, _ in Array(buf) } == want)
            #expect(index.entries[e.id]?.sourceSHA256 == e.audioSHA256)
        }
        let reference = try TestFolder.digests(folder, includeHidden: false)

        // --jobs 2, and the shards made in two parts (in either order), give the same bytes.
        for split in [[Shard.whole], [Shard(index: 1, count: 2), Shard(index: 0, count: 2)]] {
            try FileManager.default.removeItem(at: folder)
            for s in split { _ = try Self.build(dataset, jobs: 2, shard: s) }
            #expect(try TestFolder.digests(folder, includeHidden: false) == reference)
        }
    }

    @Test("an interrupted store resumes: a missing or damaged shard is remade, finished ones are kept")
    func resume() throws {
        let dataset = try TinyDataset.make()
        defer { try? FileManager.default.removeItem(at: dataset) }
        _ = try Self.build(dataset)
        let folder = dataset.appendingPathComponent("features/logmel40")
        let reference = try TestFolder.digests(folder, includeHidden: false)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("shard-00001.safetensors"))
        try Data("damaged".utf8).write(to: folder.appendingPathComponent("shard-00002.safetensors"))
        try FileManager.default.removeItem(at: folder.appendingPathComponent("index.json"))
        let s = try Self.build(dataset)
        #expect(s.shardsMade == 2 && s.shardsKept == 1)
        #expect(try TestFolder.digests(folder, includeHidden: false) == reference)
        // Another dtype in the same folder is refused rather than mixed in.
        #expect(throws: CoreError.self) { try Self.build(dataset, dtype: .float16) }
    }

    @Test("a plan-only dataset (no audio yet) is refused with a hint to render it")
    func planOnly() throws {
        let dataset = try TinyDataset.make(examples: 3)
        defer { try? FileManager.default.removeItem(at: dataset) }
        try Data(#"{"audio_rendered": false}"#.utf8).write(to: dataset.appendingPathComponent("dataset.json"))
        #expect { try Self.build(dataset) } throws: { e in
            guard case let .invalidValue(field, _, expected) = e as? CoreError else { return false }
            return field.hasSuffix("dataset.json") && expected.contains("tkd render")
        }
    }

    @Test("float16 stores hold the features rounded to half precision")
    func float16() throws {
        let dataset = try TinyDataset.make(examples: 3)
        defer { try? FileManager.default.removeItem(at: dataset) }
        _ = try Self.build(dataset, preset: .kaldiFbank, dtype: .float16)
        let reader = try ShardedStoreReader(dataset.appendingPathComponent("features/kaldi-fbank"))
        let fe = try FrontEnd(FrontEndPreset.kaldiFbank.config())
        let audio = try AudioReader.read(dataset.appendingPathComponent("audio/training/ex000.wav"))
        let want = fe.features(audio.samples).map { Float(Float16($0)) }
        #expect(try reader.tensor("ex000").values == want)
        #expect(reader.index.dtype == .float16)
    }

    @Test("bad input names the file: NaN samples, a clip shorter than one window, another sample rate")
    func badInput() throws {
        let dir = TestFolder.path("feat-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fe = try FrontEnd(FrontEndPreset.kwsStreamingMFCC20.config())
        #expect(throws: FeaturesError.nonFinite(path: "a.wav", index: 2)) {
            try FeatureFile.features([0, 0.1, .nan, 0], path: "a.wav", frontEnd: fe)
        }
        #expect(throws: FeaturesError.tooShort(path: "b.wav", samples: 639, needed: 640)) {
            try FeatureFile.features([Float](repeating: 0.1, count: 639), path: "b.wav", frontEnd: fe)
        }
        let url = dir.appendingPathComponent("c.wav")
        try AudioWriter.write([Float](repeating: 0.1, count: 8000), sampleRate: 8000, to: url)
        #expect(throws: FeaturesError.sampleRateMismatch(path: url.path, sampleRate: 8000, expected: 16000)) {
            try FeatureFile.extract(url, frontEnd: fe, resample: false)
        }
        let resampled = try FeatureFile.extract(url, frontEnd: fe, resample: true)
        #expect(resampled.count == fe.config.frameCount(samples: 16000) * 20)
        #expect(throws: FeaturesError.unknownPreset(name: "mfcc", available: FrontEndPreset.allCases.map(\.rawValue))) {
            try FrontEndPreset.named("mfcc")
        }
    }

    @Test("presets at 8 kHz keep their milliseconds; configs validate")
    func sampleRates() throws {
        let c = FrontEndPreset.torchaudioMelspec.config(sampleRate: 8000)
        #expect(c.hopLength == 80 && c.window.length == 200 && c.fftLength == 256 && c.mel.fMax == 4000)
        let k = FrontEndPreset.kwsStreamingMFCC20.config(sampleRate: 8000)
        #expect(k.frameLength == 320 && k.hopLength == 160 && k.fftLength == 512 && k.mel.fMax == 4000)
        var bad = FrontEndPreset.logmel40.config()
        bad.mel.fMax = 9000
        #expect(throws: FeaturesError.self) { try FrontEnd(bad) }
        #expect(FrontEndPreset.logmel40.config().frameCount(samples: 16000) == 101)
        #expect(FrontEndPreset.kaldiFbank.config().frameCount(samples: 16000) == 98)
        #expect(FrontEndPreset.kwsStreamingMFCC20.config().frameCount(samples: 128_000) == 399)
    }
}
