import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import TensorStore

/// Computes a dataset's features into `DATASET/features/<preset>/`: safetensors shards of at most
/// ~200 MB (`shard-00000.safetensors`, one tensor per example named by its id, frames × features),
/// `index.json` (id → shard, tensor, shape, audio SHA-256; SHA-256 per shard) and `config.json`.
///
/// Deterministic (shard k holds examples [k·K, (k+1)·K) of the canonical order, whatever `--jobs`),
/// shardable (`--shard I/N` makes the store shards k with k mod N = I; the last to finish writes the
/// index), resumable (a shard is kept when its sidecar records the same audio and the file still has the
/// recorded SHA-256). The store itself is `ShardedStoreWriter`'s; this type computes one example's features.
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

    public var folder: URL { DatasetLayout(dataset).featureStore(preset.rawValue) }

    public struct Summary: Sendable {
        public let shardsMade: Int
        public let shardsKept: Int
        /// Set when this run completed the store.
        public let index: StoreIndex?
    }

    /// - Throws: `CoreError`/`FeaturesError`/`AudioError` naming the file: missing manifests or audio,
    ///   a rate other than the dataset's, a clip shorter than a window, NaN/Inf samples;
    ///   a store of another configuration in the folder.
    @discardableResult
    public func run() throws -> Summary {
        let layout = DatasetLayout(dataset)
        if DatasetInfo.audioRendered(dataset) == false {
            throw CoreError.invalidValue(
                field: layout.info.path, value: "audio_rendered: false",
                expected: "a dataset with audio; run `tkd render --dataset \(dataset.path) "
                    + "--corpus CORPUS` first")
        }
        let examples = try ExampleRecord.loadAll(dataset: dataset)
        guard let first = examples.first else {
            throw CoreError.io(path: dataset.path, reason: "the manifests hold no examples")
        }
        let frontEnd = try FrontEnd(preset.config(sampleRate: first.sampleRate))
        if let bad = examples.first(where: { $0.sampleRate != first.sampleRate }) {
            throw DatasetFormatError.invalidRecord(
                path: layout.manifest(bad.split).path, id: bad.id, field: "sample_rate",
                detail: "is \(bad.sampleRate); expected \(first.sampleRate) like the others (a store has one rate)")
        }
        let fe = frontEnd.config
        let longest = examples.map { fe.frameCount(samples: $0.numSamples) }.max() ?? 1
        let perExample = max(1, longest * fe.featureCount * dtype.byteSize)
        let config = FeatureStoreConfig(
            preset: preset.rawValue, frontEnd: fe, dtype: dtype,
            examplesPerShard: max(1, shardBytes / perExample),
            manifestsSHA256: try ManifestFingerprint.sha256(dataset: dataset))
        var writer = ShardedStoreWriter(
            folder: folder, items: examples.map { StoreItem(id: $0.id, sourceSHA256: $0.audioSHA256) },
            examplesPerShard: config.examplesPerShard, dtype: dtype,
            metadata: ["preset": preset.rawValue, "format": FeatureStoreConfig.currentFormat])
        // A folder with a store of another preset configuration, dtype or dataset is refused; a matching
        // config.json pins the manifests, hence every example's audio hash.
        writer.sourcesPinnedBySettings = try writer.refuseOtherSettings(
            FeatureStoreConfig.self, file: FeatureStoreConfig.fileName
        ) { old in
            old.frontEnd == config.frontEnd && old.dtype == config.dtype
                && old.manifestsSHA256 == config.manifestsSHA256
                && old.examplesPerShard == config.examplesPerShard
                ? nil
                : (
                    "a store of other settings or another version of the dataset",
                    "the same preset, dtype, examples per shard and manifests"
                )
        }
        try writer.writeDescription(config, file: FeatureStoreConfig.fileName)
        let dtype = self.dtype
        let outcome = try writer.write(
            shard: shard, jobs: jobs, progress: progress, label: "\(preset.rawValue) examples"
        ) { i in
            let e = examples[i]
            let url = try layout.audio(e)
            let audio = try AudioReader.read(url)
            guard audio.sampleRate == e.sampleRate else {
                throw CoreError.invalidValue(
                    field: "\(url.path): sample rate", value: "\(audio.sampleRate) Hz",
                    expected: "\(e.sampleRate) Hz, as the manifest records (tkd render rebuilds the file)")
            }
            let values = try FeatureFile.features(audio.samples, path: url.path, frontEnd: frontEnd)
            return [
                SafeTensors.Tensor(
                    name: e.id, dtype: dtype, shape: [values.count / fe.featureCount, fe.featureCount],
                    values: values)
            ]
        }
        return Summary(shardsMade: outcome.made, shardsKept: outcome.kept, index: outcome.index)
    }
}
