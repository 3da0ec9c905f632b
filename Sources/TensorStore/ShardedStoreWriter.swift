import Foundation
import TKDCore

/// One item of a sharded store: an example id and the SHA-256 of the input its tensors are computed from
/// (its audio), so that a rerun can tell which shards are stale.
public struct StoreItem: Sendable, Equatable {
    public var id: String
    public var sourceSHA256: String

    public init(id: String, sourceSHA256: String) {
        self.id = id
        self.sourceSHA256 = sourceSHA256
    }
}

/// Writes a sharded tensor store — the one layout behind feature stores and teacher caches:
///
/// ```
/// FOLDER/shard-00000.safetensors         the tensors of items [0, K), in item order
/// FOLDER/.shard-00000.safetensors.done.json   its sidecar: SHA-256, sources, index entries
/// FOLDER/index.json                      StoreIndex: tensor name → shard, shape, source; SHA-256 per shard
/// ```
///
/// Shard k holds items [k·K, (k+1)·K) of the caller's canonical order, whatever `--jobs`. With a `Shard`
/// (`--shard I/N`, Slurm arrays) a process makes the shards k with k mod N = I; whoever finds every sidecar
/// present writes the index. A rerun keeps a shard whose sidecar records the same sources and whose file
/// still has the recorded SHA-256, and recomputes the rest. The caller computes the tensors of one item;
/// everything else — names, ranges, sidecars, resume, index assembly — is here.
public struct ShardedStoreWriter: Sendable {
    public let folder: URL
    public let items: [StoreItem]
    public let examplesPerShard: Int
    public let dtype: TensorDType
    /// Written into every shard's safetensors metadata.
    public let metadata: [String: String]

    public init(folder: URL, items: [StoreItem], examplesPerShard: Int, dtype: TensorDType, metadata: [String: String])
    {
        precondition(examplesPerShard > 0, "examplesPerShard must be positive")
        self.folder = folder
        self.items = items
        self.examplesPerShard = examplesPerShard
        self.dtype = dtype
        self.metadata = metadata
    }

    /// Set when the store's description pins every item's source (a feature store records the manifests'
    /// SHA-256, which fixes every audio hash): a sidecar written before sidecars recorded sources is then
    /// still trusted. Otherwise such a shard is recomputed.
    public var sourcesPinnedBySettings = false

    /// What a shard's sidecar records (`format` `tkd-store-shard/1`). Sidecars written before this format
    /// (feature stores: file, SHA-256, bytes, tensors; teacher caches: file, SHA-256, bytes, sources) are
    /// read too, their entries taken from the shard's header.
    struct ShardRecord: Codable, Equatable {
        static let currentFormat = "tkd-store-shard/1"
        var format: String?
        var file: String
        var sha256: String
        var bytes: Int
        var tensors: Int?
        /// Item id → source SHA-256 of the items the shard was computed from.
        var sources: [String: String]?
        /// The shard's index entries (tensor name → location).
        var entries: [String: StoreIndex.Location]?

        var info: StoreIndex.ShardInfo { .init(file: file, sha256: sha256, bytes: bytes, tensors: tensors ?? 0) }
    }

    public var shardCount: Int { (items.count + examplesPerShard - 1) / examplesPerShard }

    /// Items [k·K, (k+1)·K).
    public func range(ofShard k: Int) -> Range<Int> {
        (k * examplesPerShard)..<min(items.count, (k + 1) * examplesPerShard)
    }

    public static func shardName(_ k: Int) -> String { String(format: "shard-%05d.safetensors", k) }

    func sidecar(_ k: Int) -> URL { folder.appendingPathComponent(".\(Self.shardName(k)).done.json") }

    func sources(ofShard k: Int) -> [String: String] {
        Dictionary(items[range(ofShard: k)].map { ($0.id, $0.sourceSHA256) }, uniquingKeysWith: { a, _ in a })
    }

    /// The sidecar of shard k when it matches the current items (and, when `checkFile`, the file still has
    /// the recorded SHA-256). A sidecar of the earlier layout is completed from the shard's header and
    /// rewritten in the current one.
    func finished(_ k: Int, checkFile: Bool) -> ShardRecord? {
        let expected = sources(ofShard: k)
        guard let data = try? RegularFile.contents(sidecar(k)),
            var record = try? JSONDecoder().decode(ShardRecord.self, from: data),
            record.file == Self.shardName(k),
            record.sources == expected || (record.sources == nil && sourcesPinnedBySettings)
        else { return nil }
        let legacy = record.format == nil || record.entries == nil || record.tensors == nil || record.sources == nil
        if checkFile || legacy,
            (try? SHA256.hex(fileAt: folder.appendingPathComponent(record.file))) != record.sha256
        {
            return nil
        }
        guard legacy else { return record }
        guard let file = try? SafeTensorsFile(folder.appendingPathComponent(record.file)) else { return nil }
        var entries: [String: StoreIndex.Location] = [:]
        for item in items[range(ofShard: k)] {
            for name in file.entries.keys where name == item.id || name.hasSuffix("/" + item.id) {
                entries[name] = .init(
                    shard: record.file, tensor: name, shape: file.entries[name]!.shape, sourceSHA256: item.sourceSHA256)
            }
        }
        guard entries.count == file.entries.count else { return nil }
        record.format = ShardRecord.currentFormat
        record.tensors = file.entries.count
        record.sources = expected
        record.entries = entries
        try? AtomicFile.write(try CanonicalJSON.encodePretty(record), to: sidecar(k))
        return record
    }

    /// Refuses a folder whose description file (`config.json` of a feature store, `cache.json` of a teacher
    /// cache) records other settings: `conflict(old)` returns what differs, or nil when the folder may be
    /// resumed. A missing or unreadable description counts as no conflict. Returns whether a description with
    /// these settings is there (what `sourcesPinnedBySettings` may rest on).
    /// - Throws: `CoreError.invalidValue` naming the file, what it records and what was asked for.
    @discardableResult
    public func refuseOtherSettings<D: Decodable>(
        _ type: D.Type, file: String,
        conflict: (D) -> (
            found: String,
            expected: String
        )?
    ) throws -> Bool {
        let url = folder.appendingPathComponent(file)
        guard let data = try RegularFile.contents(url), let old = try? JSONDecoder().decode(D.self, from: data)
        else { return false }
        guard let difference = conflict(old) else { return true }
        throw CoreError.invalidValue(
            field: url.path, value: difference.found,
            expected: "\(difference.expected); delete \(folder.path) to rebuild it")
    }

    /// Writes the store's description file (`config.json`, `cache.json`) atomically and durably. Written before
    /// the first shard, so that a rerun of an interrupted store with other settings is refused, not mixed in.
    public func writeDescription<D: Encodable>(_ description: D, file: String) throws {
        try AtomicFile.write(
            try CanonicalJSON.encodePretty(description), to: folder.appendingPathComponent(file), durable: true)
    }

    public struct Outcome: Sendable {
        /// Shards computed / kept from an earlier run by this process.
        public let made: Int
        public let kept: Int
        /// Set when every shard is finished and the index was written.
        public let index: StoreIndex?
    }

    /// Makes the shards `shard` owns that are not finished, then writes the index when every shard of the
    /// store is. `compute(i)` returns the tensors of item i (any names; each becomes an index entry whose
    /// source is the item's).
    /// - Throws: the first error of `compute`, or an I/O error naming the file.
    public func write(
        shard: Shard, jobs: Int, progress: ProgressMode, label: String,
        compute: @escaping @Sendable (Int) throws -> [SafeTensors.Tensor]
    ) throws -> Outcome {
        // Temporaries of killed runs of this host (never a live process's, never another host's).
        AtomicFile.removeStaleTemporaries(in: folder)
        let mine = (0..<shardCount).filter { shard.owns($0) }
        let reporter = ProgressReporter(
            label: label, total: mine.reduce(0) { $0 + range(ofShard: $1).count }, mode: progress)
        var made = 0
        var kept = 0
        var checked = Set<Int>()
        for k in mine {
            let r = range(ofShard: k)
            if finished(k, checkFile: true) != nil {
                kept += 1
                checked.insert(k)
                reporter.advance(by: r.count)
                continue
            }
            let lower = r.lowerBound
            let groups = try WorkPool(jobs: jobs).map(r.count) { i -> [SafeTensors.Tensor] in
                defer { reporter.advance() }
                return try compute(lower + i)
            }
            var entries: [String: StoreIndex.Location] = [:]
            for (i, tensors) in groups.enumerated() {
                for t in tensors {
                    entries[t.name] = .init(
                        shard: Self.shardName(k), tensor: t.name, shape: t.shape,
                        sourceSHA256: items[lower + i].sourceSHA256)
                }
            }
            let tensors = groups.flatMap { $0 }
            let data = SafeTensors.encode(tensors, metadata: metadata)
            try AtomicFile.write(data, to: folder.appendingPathComponent(Self.shardName(k)), durable: true)
            let record = ShardRecord(
                format: ShardRecord.currentFormat, file: Self.shardName(k), sha256: SHA256.hex(data), bytes: data.count,
                tensors: tensors.count, sources: sources(ofShard: k), entries: entries)
            try AtomicFile.write(try CanonicalJSON.encodePretty(record), to: sidecar(k), durable: true)
            checked.insert(k)
            made += 1
        }
        reporter.finish()
        return Outcome(made: made, kept: kept, index: try writeIndexIfComplete(checked: checked))
    }

    /// Writes `index.json` when every shard has a sidecar that matches the current items. Shards this
    /// process neither made nor checked have their file's SHA-256 checked first.
    func writeIndexIfComplete(checked: Set<Int>) throws -> StoreIndex? {
        var shards: [StoreIndex.ShardInfo] = []
        var entries: [String: StoreIndex.Location] = [:]
        for k in 0..<shardCount {
            guard let record = finished(k, checkFile: !checked.contains(k)) else { return nil }
            shards.append(record.info)
            entries.merge(record.entries ?? [:]) { a, _ in a }
        }
        let index = StoreIndex(dtype: dtype, entries: entries, shards: shards)
        try AtomicFile.write(
            try CanonicalJSON.encodePretty(index), to: folder.appendingPathComponent(StoreIndex.fileName),
            durable: true)
        return index
    }
}
