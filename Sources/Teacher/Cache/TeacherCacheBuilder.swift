import AudioIO
import DatasetFormat
import Foundation
import Layers
import TKDCore
import TensorStore
import TrainingLoop

/// Writes a dataset's teacher cache `DATASET/teachers/<fingerprint>/`: per example the rollout vector at the
/// teacher's frame rate (`rollout/<id>`, [T]) and the teacher's logits (`logits/<id>`, [labels]) in
/// safetensors shards of `examplesPerShard` examples in manifest order, `index.json` (key → shard, shape,
/// audio SHA-256; SHA-256 per shard) and `cache.json`. Deterministic whatever `--jobs`/`--shard`; a rerun
/// keeps finished shards whose file and source audio are unchanged and recomputes the rest.
public struct TeacherCacheBuilder: Sendable {
    public var dataset: URL
    public var teacherFolder: URL
    /// Instead of running `teacherFolder`: a folder of per-example exports (`--import`): `<id>.safetensors`
    /// with `layer.<i>` [heads, T, T] attentions (rolled out here) or a ready `rollout` [T], and optionally
    /// `logits`; plus an optional `import.json` {"frame_hop", "frame_centre_offset", "labels"}.
    public var importFolder: URL?
    public var rollout = Rollout()
    public var dtype: TensorDType = .float32
    public var jobs = 1
    public var shard = Shard.whole
    public var progress: ProgressMode = .auto
    public var examplesPerShard = 1024

    public init(dataset: URL, teacher: URL) {
        self.dataset = dataset
        teacherFolder = teacher
    }

    /// The fingerprint of a teacher folder with rollout settings: SHA-256 over the weights', config's (and,
    /// when present, `preprocessor_config.json`'s) SHA-256 and the canonical JSON of the settings.
    public static func fingerprint(
        teacher: URL, rollout: Rollout
    ) throws -> (full: String, weights: String, config: String) {
        let layout = ModelFolderLayout(teacher)
        let weights = try SHA256.hex(fileAt: layout.weights)
        let config = try SHA256.hex(fileAt: layout.config)
        var h = SHA256()
        h.update("tkd-teacher-cache/1\n\(weights)\n\(config)\n")
        // The feature extractor's settings (do_normalize) change the outputs too; folders without the file keep their
        // fingerprint.
        let pre = layout.preprocessor
        if FileManager.default.fileExists(atPath: pre.path) {
            h.update("preprocessor \(try SHA256.hex(fileAt: pre))\n")
        }
        h.update(try CanonicalJSON.encode(rollout))
        return (h.finalizeHex(), weights, config)
    }

    public struct Result: Sendable {
        public var folder: URL
        public var info: TeacherCacheInfo
        public var shardsMade: Int
        public var shardsKept: Int
        public var complete: Bool
    }

    /// Where the per-example vectors come from.
    struct Source: Sendable {
        var fingerprint: String, weights: String, config: String, description: String
        var frameHop: Int, frameCentreOffset: Double, labels: [String]?
        /// The row of the rollouts it gives.
        var row: Rollout.Row
        var compute: @Sendable (ExampleRecord, URL) throws -> (rollout: [Float], logits: [Float]?)
    }

    func modelSource() throws -> Source {
        let model = try Wav2Vec2Model(folder: teacherFolder)
        let (full, weightsSHA, configSHA) = try Self.fingerprint(teacher: teacherFolder, rollout: rollout)
        let labels =
            model.hasClassifier ? (0..<model.config.labels).map { model.config.id2label[$0] ?? String($0) } : nil
        let heads = model.config.heads, settings = rollout, head = model.config.pooling.row
        return Source(
            fingerprint: full, weights: weightsSHA, config: configSHA, description: teacherFolder.path,
            frameHop: model.config.frameHop, frameCentreOffset: model.config.frameCentreOffset, labels: labels,
            row: rollout.row(head: head)
        ) { e, root in
            let url = try DatasetLayout(root).audio(e)
            let audio = try AudioReader.read(url, options: AudioReadOptions(sampleRate: 16_000, allowResample: false))
            let out = try model.forward(audio.samples)
            return (settings.vector(out.attentions, heads: heads, frames: out.frames, head: head), out.logits)
        }
    }

    func importSource(_ folder: URL, records: [ExampleRecord]) throws -> Source {
        let infoURL = folder.appendingPathComponent(TeacherExport.ImportInfo.fileName)
        var info = TeacherExport.ImportInfo()
        var hash = SHA256()
        hash.update("tkd-teacher-import/1\n")
        if let data = try RegularFile.contents(infoURL) {
            do { info = try JSONDecoder().decode(TeacherExport.ImportInfo.self, from: data) } catch {
                throw TeacherError.input(path: infoURL.path, reason: "unreadable: \(CanonicalJSON.describe(error))")
            }
            hash.update(data)
            if let problem = info.problem {
                throw TeacherError.input(path: infoURL.path, reason: problem)
            }
        }
        for e in records.sorted(by: { $0.id < $1.id }) {
            let url = folder.appendingPathComponent(TeacherExport.fileName(id: e.id))
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw TeacherError.input(
                    path: url.path,
                    reason: "no export for example '\(e.id)' (expected one <id>.safetensors per manifest example)")
            }
            // A regular file inside the import folder (not a device, not a link out of it).
            do {
                _ = try ContainedPath.resolve(
                    TeacherExport.fileName(id: e.id), under: folder, field: "export of '\(e.id)'", regularFile: true)
            } catch { throw TeacherError.input(path: url.path, reason: "\(error)") }
            hash.update("\(e.id) \(try SHA256.hex(fileAt: url))\n")
        }
        let filesSHA = hash.finalizeHex()
        var h = SHA256()
        h.update("tkd-teacher-cache/1\nimport \(filesSHA)\n")
        h.update(try CanonicalJSON.encode(rollout))
        let settings = rollout
        let hop = info.frameHop ?? TeacherExport.ImportInfo.defaultFrameHop
        let offset = info.frameCentreOffset ?? TeacherExport.ImportInfo.defaultFrameCentreOffset
        let labels = info.labels, head = info.rolloutRow ?? .mean
        let row = rollout.row(head: head)
        let readyRow = info.rolloutRow
        /// The frame count T of an export against the one rule of the cache (`TeacherCacheInfo.plausibleFrames`).
        @Sendable func checkFrames(_ t: Int, name: String, path: String, record e: ExampleRecord) throws {
            let range = TeacherCacheInfo.plausibleFrames(
                numSamples: e.numSamples, frameHop: hop, frameCentreOffset: offset)
            guard range.contains(t) else {
                throw TeacherError.input(
                    path: path,
                    reason: "'\(name)' has \(t) frames; example '\(e.id)' has \(e.numSamples) samples, which at "
                        + "frame_hop \(hop) and frame_centre_offset \(offset) give \(range.lowerBound)…"
                        + "\(range.upperBound) frames")
            }
        }
        @Sendable func checkValues(_ v: [Float], name: String, path: String) throws {
            if let problem = TeacherCacheInfo.rolloutProblem(v) {
                throw TeacherError.input(path: path, reason: "'\(name)' \(problem)")
            }
        }
        return Source(
            fingerprint: h.finalizeHex(), weights: filesSHA, config: "", description: "import:\(folder.path)",
            frameHop: hop, frameCentreOffset: offset, labels: labels, row: row
        ) { e, _ in
            let url = folder.appendingPathComponent(TeacherExport.fileName(id: e.id))
            let file = try SafeTensorsFile(url)
            let logits = file.entries[TeacherExport.logits] != nil ? try file.values(TeacherExport.logits) : nil
            if let logits {
                let expected = labels.map { $0.count...$0.count } ?? 1...10_000
                let finite = logits.allSatisfy(\.isFinite)
                guard expected.contains(logits.count), finite else {
                    let want = labels.map { "\($0.count) (import.json's labels)" } ?? "1…10000"
                    throw TeacherError.input(
                        path: url.path,
                        reason: "'logits' has \(logits.count) values\(finite ? "" : ", not all finite"); "
                            + "expected \(want) finite values")
                }
            }
            if file.entries[TeacherExport.rollout] != nil {
                let v = try file.values(TeacherExport.rollout)
                try checkFrames(v.count, name: TeacherExport.rollout, path: url.path, record: e)
                try checkValues(v, name: TeacherExport.rollout, path: url.path)
                // A ready rollout is one row, fixed by the exporter: it must be said, and be the row asked for.
                guard let readyRow else {
                    throw TeacherError.input(
                        path: infoURL.path,
                        reason: "'rollout_row' is missing; '\(e.id)' holds a ready rollout: say which row it is "
                            + "(\(Rollout.Row.expectedChoices))")
                }
                guard row == readyRow else {
                    throw TeacherError.input(
                        path: infoURL.path,
                        reason:
                            "'rollout_row' is '\(readyRow.rawValue)'; --query \(settings.query.rawValue) asks for the "
                            + "\(row.rawValue) row, which ready rollouts cannot give (export attentions instead)")
                }
                return (v, logits)
            }
            var layers: [[Float]] = []
            var shape: [Int] = []
            while let entry = file.entries[TeacherExport.layer(layers.count)] {
                guard entry.shape.count == 3, entry.shape[1] == entry.shape[2], shape.isEmpty || shape == entry.shape
                else {
                    throw TeacherError.shape(
                        path: url.path, name: TeacherExport.layer(layers.count), shape: entry.shape,
                        expected: shape.isEmpty ? [-1, -1, -1] : shape)
                }
                shape = entry.shape
                layers.append(try file.values(TeacherExport.layer(layers.count)))
            }
            guard !layers.isEmpty else {
                throw TeacherError.input(
                    path: url.path, reason: "neither 'rollout' nor 'layer.0' (attentions [heads, T, T]) is in the file")
            }
            guard shape[0] >= 1, shape[1] >= 1 else {
                throw TeacherError.shape(
                    path: url.path, name: TeacherExport.layer(0), shape: shape, expected: [-1, -1, -1])
            }
            // The frame count before the rollout's O(L·T²) work.
            try checkFrames(shape[1], name: TeacherExport.layer(0), path: url.path, record: e)
            let v = settings.vector(layers, heads: shape[0], frames: shape[1], head: head)
            try checkValues(v, name: "the rollout of its layers", path: url.path)
            return (v, logits)
        }
    }

    public func run() throws -> Result {
        reuseLargeAllocations()
        let layout = DatasetLayout(dataset)
        let records = try ExampleRecord.loadAll(dataset: dataset)
        guard !records.isEmpty else {
            throw TeacherError.input(path: dataset.path, reason: "the manifests hold no examples")
        }
        let source = try importFolder.map { try importSource($0, records: records) } ?? modelSource()
        let full = source.fingerprint
        let folder = layout.teacherCache(fingerprint: full)
        var info = TeacherCacheInfo(
            fingerprint: full, teacher: source.description, weightsSHA256: source.weights,
            configSHA256: source.config, rollout: rollout, rolloutRow: source.row, dtype: dtype,
            examplesPerShard: examplesPerShard,
            manifestsSHA256: try ManifestFingerprint.sha256(dataset: dataset), sampleRate: 16_000,
            frameHop: source.frameHop, frameCentreOffset: source.frameCentreOffset,
            teacherLabels: source.labels)
        let writer = ShardedStoreWriter(
            folder: folder,
            items: records.map { StoreItem(id: $0.id, sourceSHA256: $0.audioSHA256) },
            examplesPerShard: examplesPerShard, dtype: dtype,
            metadata: ["format": TeacherCacheInfo.currentFormat, "fingerprint": full])
        // A cache of another layout is refused; shards of another version of the dataset are recomputed.
        try writer.refuseOtherSettings(TeacherCacheInfo.self, file: TeacherCacheInfo.fileName) { old in
            old.dtype == info.dtype && old.examplesPerShard == info.examplesPerShard
                ? nil
                : (
                    "a cache with dtype \(old.dtype.rawValue) and \(old.examplesPerShard) examples per shard",
                    "dtype \(info.dtype.rawValue) and \(info.examplesPerShard) examples per shard"
                )
        }
        try writer.writeDescription(info, file: TeacherCacheInfo.fileName)
        let type = dtype, root = dataset, compute = source.compute
        let outcome = try writer.write(shard: shard, jobs: jobs, progress: progress, label: "teacher examples") { i in
            let e = records[i]
            let (v, logits) = try compute(e, root)
            var t = [
                SafeTensors.Tensor(name: TeacherCacheInfo.rolloutKey(e.id), dtype: type, shape: [v.count], values: v)
            ]
            if let logits {
                t.append(
                    .init(name: TeacherCacheInfo.logitsKey(e.id), dtype: type, shape: [logits.count], values: logits))
            }
            return t
        }
        if let index = outcome.index {
            let datasetInfo = try DatasetInfo.load(dataset)
            info.summary = try Self.summarize(
                records: records, index: index, folder: folder, info: info, datasetLabels: datasetInfo.labels,
                multiLabel: datasetInfo.isMultiLabel)
            try writer.writeDescription(info, file: TeacherCacheInfo.fileName)
        }
        return Result(
            folder: folder, info: info, shardsMade: outcome.made, shardsKept: outcome.kept,
            complete: outcome.index != nil)
    }

    /// Teacher accuracy on validation and test (when its labels are the dataset's) and rollout localisation.
    static func summarize(
        records: [ExampleRecord], index: StoreIndex, folder: URL, info: TeacherCacheInfo,
        datasetLabels: [String], multiLabel: Bool = false
    ) throws -> TeacherCacheInfo.Summary {
        let reader = try ShardedStoreReader(folder)
        // Teacher class → dataset class (the trainer's rule).
        let logitCount = records.first.flatMap { index.entries[TeacherCacheInfo.logitsKey($0.id)]?.shape.first }
        var map: [Int: Int] = [:]
        if let m = TeacherCacheInfo.classMap(
            teacherLabels: info.teacherLabels, datasetLabels: datasetLabels, logits: logitCount)
        {
            for (t, d) in m.enumerated() where d >= 0 { map[t] = d }
        }
        var correct: [Split: Int] = [:], seen: [Split: Int] = [:]
        var localisation = RolloutLocalisation(), validation = RolloutLocalisation()
        for r in records {
            let v = try reader.tensor(TeacherCacheInfo.rolloutKey(r.id)).values
            if !map.isEmpty, index.entries[TeacherCacheInfo.logitsKey(r.id)] != nil, r.split != .training {
                let z = try reader.tensor(TeacherCacheInfo.logitsKey(r.id)).values
                let best = z.indices.max { z[$0] < z[$1] }!
                seen[r.split, default: 0] += 1
                // Multi-label examples: the top class is one of the example's labels.
                if let m = map[best], r.allLabelIndices.contains(m) { correct[r.split, default: 0] += 1 }
            }
            let spans = r.evidenceSpans.map { ($0.onset, $0.offset) }
            guard !spans.isEmpty else { continue }
            localisation.add(v, centres: info.frameCentres(v.count), spans: spans)
            if r.split == .validation { validation.add(v, centres: info.frameCentres(v.count), spans: spans) }
        }
        func accuracy(_ s: Split) -> Double? {
            map.isEmpty ? nil : seen[s].map { Double(correct[s] ?? 0) / Double($0) }
        }
        var summary = TeacherCacheInfo.Summary(
            validationAccuracy: accuracy(.validation), testAccuracy: accuracy(.testing), localisation: localisation,
            validation: validation)
        // A multi-label dataset's teacher row is its clip-level mAP (the teacher's classes must be the dataset's).
        if multiLabel, map.count == datasetLabels.count, map.allSatisfy({ $0.key == $0.value }) {
            let task = MultiLabelTask(records: records, classes: datasetLabels.count)
            func meanAP(_ split: Split) throws -> Double? {
                let ids = records.filter { $0.split == split }.map(\.id)
                guard !ids.isEmpty, ids.allSatisfy({ index.entries[TeacherCacheInfo.logitsKey($0)] != nil }) else {
                    return nil
                }
                let logits = try ids.flatMap { try reader.tensor(TeacherCacheInfo.logitsKey($0)).values }
                guard logits.count == ids.count * datasetLabels.count else { return nil }
                return task.metrics(split: split.rawValue, labels: datasetLabels, ids: ids, logits: logits)
                    .meanAveragePrecision
            }
            summary.validationMAP = try meanAP(.validation)
            summary.testMAP = try meanAP(.testing)
        }
        return summary
    }
}
