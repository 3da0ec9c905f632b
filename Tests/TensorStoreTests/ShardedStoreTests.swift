import Foundation
import TKDCore
import TestSupport
import Testing

@testable import TensorStore

/// The one sharded store behind feature stores and teacher caches.
@Suite("Sharded tensor store")
struct ShardedStoreTests {
    static let items = (0..<7).map { StoreItem(id: String(format: "ex%02d", $0), sourceSHA256: "sha-\($0)") }

    /// Two tensors per item whose values depend on the item and its source.
    static func compute(_ items: [StoreItem]) -> @Sendable (Int) throws -> [SafeTensors.Tensor] {
        { i in
            let base = Float(i) + Float(items[i].sourceSHA256.count)
            return [
                SafeTensors.Tensor(name: "a/\(items[i].id)", shape: [2], values: [base, base + 1]),
                SafeTensors.Tensor(name: "b/\(items[i].id)", shape: [1, 3], values: [base, -base, 0]),
            ]
        }
    }

    static func writer(_ folder: URL, _ items: [StoreItem] = items) -> ShardedStoreWriter {
        ShardedStoreWriter(
            folder: folder, items: items, examplesPerShard: 3, dtype: .float32, metadata: ["format": "test"])
    }

    @Test("shards of K items in order, an index entry per tensor with its source, the values read back")
    func write() throws {
        let folder = try TestFolder.make("store")
        defer { try? FileManager.default.removeItem(at: folder) }
        let w = Self.writer(folder)
        #expect(w.shardCount == 3 && w.range(ofShard: 2) == 6..<7)
        let out = try w.write(
            shard: .whole, jobs: 2, progress: .quiet, label: "items", compute: Self.compute(Self.items))
        #expect(out.made == 3 && out.kept == 0)
        let index = try #require(out.index)
        #expect(
            index.shards.map(\.file) == [
                "shard-00000.safetensors", "shard-00001.safetensors", "shard-00002.safetensors",
            ])
        #expect(index.shards.map(\.tensors) == [6, 6, 2])
        #expect(
            index.entries["b/ex04"]
                == .init(shard: "shard-00001.safetensors", tensor: "b/ex04", shape: [1, 3], sourceSHA256: "sha-4"))
        let reader = try ShardedStoreReader(folder)
        #expect(try reader.tensor("a/ex05").values == [10, 11])
        let verified = ShardedStoreReader.verify(folder, expected: Self.items.map { ("a/\($0.id)", $0.sourceSHA256) })
        #expect(verified.intact && verified.entries.allSatisfy { $0.problem == nil })
    }

    @Test(
        "a rerun keeps finished shards; a changed source or a corrupt shard is recomputed; shards of N processes = one")
    func resume() throws {
        let folder = try TestFolder.make("store-resume")
        let whole = try TestFolder.make("store-whole")
        defer {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: whole)
        }
        // Two "processes" of a 2-way split; the second to finish writes the index.
        let first = try Self.writer(folder).write(
            shard: Shard(index: 0, count: 2), jobs: 1, progress: .quiet, label: "x",
            compute: Self.compute(Self.items))
        #expect(first.made == 2 && first.index == nil)
        let second = try Self.writer(folder).write(
            shard: Shard(index: 1, count: 2), jobs: 1, progress: .quiet, label: "x",
            compute: Self.compute(Self.items))
        #expect(second.made == 1 && second.index != nil)
        _ = try Self.writer(whole).write(
            shard: .whole, jobs: 3, progress: .quiet, label: "x", compute: Self.compute(Self.items))
        let names = ["index.json", "shard-00000.safetensors", "shard-00001.safetensors", "shard-00002.safetensors"]
        for name in names {
            #expect(
                try Data(contentsOf: folder.appendingPathComponent(name))
                    == Data(contentsOf: whole.appendingPathComponent(name)),
                "\(name) differs between the 2-way split and one process")
        }
        let again = try Self.writer(folder).write(
            shard: .whole, jobs: 1, progress: .quiet, label: "x", compute: Self.compute(Self.items))
        #expect(again.made == 0 && again.kept == 3)
        // One source changes: only its shard is recomputed.
        var changed = Self.items
        changed[4].sourceSHA256 = "sha-4-new"
        let updated = try Self.writer(folder, changed).write(
            shard: .whole, jobs: 1, progress: .quiet, label: "x",
            compute: Self.compute(changed))
        #expect(updated.made == 1 && updated.kept == 2)
        #expect(updated.index?.entries["a/ex04"]?.sourceSHA256 == "sha-4-new")
        // A flipped byte in a shard is found by verify, and the shard is recomputed on the next run.
        let shard = folder.appendingPathComponent("shard-00002.safetensors")
        var bytes = try Data(contentsOf: shard)
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: shard)
        let verified = ShardedStoreReader.verify(folder, expected: [])
        #expect(
            !verified.intact && verified.shards.filter { $0.problem != nil }.map(\.name) == ["shard-00002.safetensors"])
        let repaired = try Self.writer(folder, changed).write(
            shard: .whole, jobs: 1, progress: .quiet, label: "x",
            compute: Self.compute(changed))
        #expect(repaired.made == 1 && ShardedStoreReader.verify(folder, expected: []).intact)
    }

    @Test("a folder described with other settings is refused, naming the description file")
    func otherSettings() throws {
        let folder = try TestFolder.make("store-settings")
        defer { try? FileManager.default.removeItem(at: folder) }
        struct Description: Codable { var dtype: String }
        try JSONEncoder().encode(Description(dtype: "F16")).write(to: folder.appendingPathComponent("config.json"))
        let w = Self.writer(folder)
        #expect(throws: Never.self) {
            try w.refuseOtherSettings(Description.self, file: "missing.json") { _ in ("a", "b") }
        }
        do {
            try w.refuseOtherSettings(Description.self, file: "config.json") { old in
                old.dtype == "F32" ? nil : ("dtype \(old.dtype)", "dtype F32")
            }
            Issue.record("other settings were accepted")
        } catch {
            #expect(
                "\(error)".contains("config.json") && "\(error)".contains("dtype F16") && "\(error)".contains("delete"),
                "\(error)")
        }
    }

    @Test("sidecars of the earlier layout are read: kept when they match (feature stores: when sources are pinned)")
    func legacySidecars() throws {
        let folder = try TestFolder.make("store-legacy")
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try Self.writer(folder).write(
            shard: .whole, jobs: 1, progress: .quiet, label: "x", compute: Self.compute(Self.items))
        let index = try #require(first.index)
        let indexBytes = try Data(contentsOf: folder.appendingPathComponent("index.json"))
        func rewriteSidecars(withSources: Bool) throws {
            for (k, shard) in index.shards.enumerated() {
                var old: [String: Any] = ["file": shard.file, "sha256": shard.sha256, "bytes": shard.bytes]
                if withSources {
                    let ids = Self.items[(3 * k)..<min(Self.items.count, 3 * k + 3)]
                    old["sources"] = Dictionary(uniqueKeysWithValues: ids.map { ($0.id, $0.sourceSHA256) })
                } else {
                    old["tensors"] = shard.tensors
                }
                try JSONSerialization.data(withJSONObject: old).write(
                    to: folder.appendingPathComponent(".\(shard.file).done.json"))
            }
            try FileManager.default.removeItem(at: folder.appendingPathComponent("index.json"))
        }
        // A teacher cache's old sidecars record sources: kept, index rebuilt from the shards' headers.
        try rewriteSidecars(withSources: true)
        let teacherStyle = try Self.writer(folder).write(
            shard: .whole, jobs: 1, progress: .quiet, label: "x", compute: Self.compute(Self.items))
        #expect(teacherStyle.made == 0 && teacherStyle.kept == 3)
        #expect(try Data(contentsOf: folder.appendingPathComponent("index.json")) == indexBytes)
        let upgraded = try String(
            contentsOf: folder.appendingPathComponent(".shard-00000.safetensors.done.json"),
            encoding: .utf8)
        #expect(upgraded.contains("tkd-store-shard/1"))
        // A feature store's old sidecars do not: trusted only when the store's settings pin the sources.
        try rewriteSidecars(withSources: false)
        let unpinned = try Self.writer(folder).write(
            shard: .whole, jobs: 1, progress: .quiet, label: "x", compute: Self.compute(Self.items))
        #expect(unpinned.made == 3)
        try rewriteSidecars(withSources: false)
        var pinned = Self.writer(folder)
        pinned.sourcesPinnedBySettings = true
        let kept = try pinned.write(
            shard: .whole, jobs: 1, progress: .quiet, label: "x", compute: Self.compute(Self.items))
        #expect(kept.made == 0 && kept.kept == 3)
        #expect(try Data(contentsOf: folder.appendingPathComponent("index.json")) == indexBytes)
    }
}
