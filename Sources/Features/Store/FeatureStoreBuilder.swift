import DatasetFormat
import AudioIO
import Foundation
import TensorStore
import TKDCore

/// Computes a dataset's features into `DATASET/features/<preset>/`: safetensors shards of at most
/// ~200 MB (`shard-00000.safetensors`, one tensor per example named by its id, frames × features),
/// `index.json` (id → shard, tensor, shape, audio SHA-256; SHA-256 per shard) and `config.json`.
///
/// Deterministic (shard k holds examples [k·K, (k+1)·K) of the canonical order, whatever `--jobs`),
/// shardable (`--shard I/N` makes the store shards k with k mod N = I; the last to finish writes the
/// index), resumable (a shard whose sidecar records a SHA-256 that still matches is kept).
public struct FeatureStoreBuilder: Sendable {
    public var dataset: URL
    public var preset: FrontEndPreset
    public var dtype: TensorDType = .float32
    public var jobs = 1
    public var shard = Shard.whole
    public var progress: ProgressMode = .auto
    /// Target shard size in bytes.
    public var shardBytes = 200 << 20

    public init(dataset: URL, preset: FrontEndPreset) {
        self.dataset = dataset
        self.preset = preset
    }

    public var folder: URL { dataset.appendingPathComponent("features/\(preset.rawValue)") }

    public struct Summary: Sendable {
        public let shardsMade: Int
        public let shardsKept: Int
        /// Set when this run completed the store.
        public let index: StoreIndex?
    }

    /// - Throws: `CoreError`/`FeaturesError`/`AudioError` naming the file: missing manifests or audio,
    ///   a rate other than the dataset's, a clip shorter than a window, NaN/Inf samples, a store of
    ///   another configuration in the folder.
    @discardableResult
    public func run() throws -> Summary {
        struct Rendered: Decodable { let audio_rendered: Bool }
        if let data = FileManager.default.contents(atPath: dataset.appendingPathComponent("dataset.json").path),
           let info = try? JSONDecoder().decode(Rendered.self, from: data), !info.audio_rendered {
            throw CoreError.invalidValue(field: dataset.appendingPathComponent("dataset.json").path, value: "audio_rendered: false",
                                         expected: "a dataset with audio; run `tkd render --dataset \(dataset.path) --corpus CORPUS` first")
        }
        let examples = try ExampleRecord.loadAll(dataset: dataset)
        guard let first = examples.first else { throw CoreError.io(path: dataset.path, reason: "the manifests hold no examples") }
        let frontEnd = try FrontEnd(preset.config(sampleRate: first.sampleRate))
        if let bad = examples.first(where: { $0.sampleRate != first.sampleRate }) {
            throw FeaturesError.sampleRateMismatch(path: bad.audio, sampleRate: bad.sampleRate, expected: first.sampleRate)
        }
        let longest = examples.map { frontEnd.config.frameCount(samples: $0.numSamples) }.max() ?? 1
        let perExample = max(1, longest * frontEnd.config.featureCount * dtype.byteSize)
        let config = FeatureStoreConfig(tool: "tkd \(TKDVersion.current)", preset: preset.rawValue, frontEnd: frontEnd.config,
                                        dtype: dtype, examplesPerShard: max(1, shardBytes / perExample),
                                        manifestsSHA256: try ManifestFingerprint.sha256(dataset: dataset))
        try checkExisting(config)
        let shardCount = (examples.count + config.examplesPerShard - 1) / config.examplesPerShard
        let mine = (0..<shardCount).filter { shard.owns($0) }
        let reporter = ProgressReporter(label: "\(preset.rawValue) examples", total: mine.reduce(0) { $0 + shardRange($1, config, examples.count).count },
                                        mode: progress)
        var made = 0, kept = 0
        for k in mine {
            let range = shardRange(k, config, examples.count)
            if shardIsFinished(k) { kept += 1; reporter.advance(by: range.count); continue }
            let group = Array(examples[range])
            let dataset = self.dataset
            let tensors = try WorkPool(jobs: jobs).map(group.count) { i -> SafeTensors.Tensor in
                defer { reporter.advance() }
                let e = group[i]
                let url = dataset.appendingPathComponent(e.audio)
                let audio = try AudioReader.read(url)
                guard audio.sampleRate == frontEnd.config.sampleRate else {
                    throw FeaturesError.sampleRateMismatch(path: url.path, sampleRate: audio.sampleRate, expected: frontEnd.config.sampleRate)
                }
                let values = try FeatureFile.features(audio.samples, path: url.path, frontEnd: frontEnd)
                return SafeTensors.Tensor(name: e.id, dtype: dtype, shape: [values.count / frontEnd.config.featureCount, frontEnd.config.featureCount],
                                          values: values)
            }
            let data = SafeTensors.encode(tensors, metadata: ["preset": preset.rawValue, "format": "tkd-features/1"])
            try AtomicFile.write(data, to: folder.appendingPathComponent(Self.shardName(k)))
            let info = StoreIndex.ShardInfo(file: Self.shardName(k), sha256: SHA256.hex(data), bytes: data.count, tensors: tensors.count)
            try AtomicFile.write(try CanonicalJSON.encodePretty(info), to: sidecar(k))
            made += 1
        }
        reporter.finish()
        try AtomicFile.write(try CanonicalJSON.encodePretty(config), to: folder.appendingPathComponent(FeatureStoreConfig.fileName))
        let index = try writeIndexIfComplete(examples: examples, config: config, shardCount: shardCount, frontEnd: frontEnd)
        return Summary(shardsMade: made, shardsKept: kept, index: index)
    }

    func shardRange(_ k: Int, _ c: FeatureStoreConfig, _ n: Int) -> Range<Int> {
        (k * c.examplesPerShard)..<min(n, (k + 1) * c.examplesPerShard)
    }

    static func shardName(_ k: Int) -> String { String(format: "shard-%05d.safetensors", k) }
    func sidecar(_ k: Int) -> URL { folder.appendingPathComponent(".\(Self.shardName(k)).done.json") }

    /// A shard is finished when its sidecar exists and the file still has the recorded SHA-256.
    func shardIsFinished(_ k: Int) -> Bool {
        guard let data = FileManager.default.contents(atPath: sidecar(k).path),
              let info = try? JSONDecoder().decode(StoreIndex.ShardInfo.self, from: data) else { return false }
        return (try? SHA256.hex(fileAt: folder.appendingPathComponent(info.file))) == info.sha256
    }

    /// A folder with a store of another preset configuration, dtype or dataset is refused.
    func checkExisting(_ config: FeatureStoreConfig) throws {
        let url = folder.appendingPathComponent(FeatureStoreConfig.fileName)
        guard let data = FileManager.default.contents(atPath: url.path),
              let old = try? JSONDecoder().decode(FeatureStoreConfig.self, from: data) else { return }
        if old.frontEnd != config.frontEnd || old.dtype != config.dtype || old.manifestsSHA256 != config.manifestsSHA256
            || old.examplesPerShard != config.examplesPerShard {
            throw CoreError.invalidValue(field: url.path, value: "a store of other settings or another version of the dataset",
                                         expected: "the same preset, dtype and manifests; delete \(folder.path) to rebuild it")
        }
    }

    func writeIndexIfComplete(examples: [ExampleRecord], config: FeatureStoreConfig, shardCount: Int,
                              frontEnd: FrontEnd) throws -> StoreIndex? {
        var shards: [StoreIndex.ShardInfo] = []
        for k in 0..<shardCount {
            guard let data = FileManager.default.contents(atPath: sidecar(k).path),
                  let info = try? JSONDecoder().decode(StoreIndex.ShardInfo.self, from: data) else { return nil }
            shards.append(info)
        }
        var entries: [String: StoreIndex.Location] = [:]
        for (i, e) in examples.enumerated() {
            let k = i / config.examplesPerShard
            entries[e.id] = .init(shard: Self.shardName(k), tensor: e.id,
                                  shape: [frontEnd.config.frameCount(samples: e.numSamples), frontEnd.config.featureCount],
                                  sourceSHA256: e.audioSHA256)
        }
        let index = StoreIndex(dtype: dtype, entries: entries, shards: shards)
        try AtomicFile.write(try CanonicalJSON.encodePretty(index), to: folder.appendingPathComponent(StoreIndex.fileName))
        return index
    }
}

/// Features of single files (`tkd features extract`) with the checks every input gets.
public enum FeatureFile {
    /// - Throws: `FeaturesError.nonFinite` / `.tooShort` naming `path`.
    public static func features(_ samples: [Float], path: String, frontEnd: FrontEnd) throws -> [Float] {
        if let bad = samples.firstIndex(where: { !$0.isFinite }) { throw FeaturesError.nonFinite(path: path, index: bad) }
        let needed = frontEnd.config.minimumSamples
        guard samples.count >= needed else { throw FeaturesError.tooShort(path: path, samples: samples.count, needed: needed) }
        return frontEnd.features(samples)
    }

    /// Reads `url`, checks its rate against the front end (resampling it when `resample`), and returns
    /// frames × features.
    public static func extract(_ url: URL, frontEnd: FrontEnd, resample: Bool) throws -> [Float] {
        let rate = frontEnd.config.sampleRate
        let info = try AudioReader.info(url)
        if info.sampleRate != rate && !resample {
            throw FeaturesError.sampleRateMismatch(path: url.path, sampleRate: info.sampleRate, expected: rate)
        }
        let audio = try AudioReader.read(url, options: AudioReadOptions(sampleRate: rate))
        return try features(audio.samples, path: url.path, frontEnd: frontEnd)
    }
}
