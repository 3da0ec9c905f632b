import Foundation
import TKDCore

/// Reads a sharded store: the index, then shards memory-mapped on first use.
public final class ShardedStoreReader: @unchecked Sendable {
    public let folder: URL
    public let index: StoreIndex
    private let lock = NSLock()
    private var open: [String: SafeTensorsFile] = [:]

    /// - Throws: `TensorStoreError` when the index is missing or unreadable, names a shard outside the folder
    ///   or one that is not listed, or a shard file is missing.
    public init(_ folder: URL) throws {
        self.folder = folder
        let url = folder.appendingPathComponent(StoreIndex.fileName)
        guard let data = try RegularFile.contents(url) else {
            throw TensorStoreError.unreadable(path: url.path, reason: "no index; the store is missing or unfinished")
        }
        do { index = try JSONDecoder().decode(StoreIndex.self, from: data) } catch {
            throw TensorStoreError.malformed(path: url.path, reason: CanonicalJSON.describe(error))
        }
        let indexPath = url.path
        for s in index.shards {
            guard (try? ContainedPath.checkName(s.file, field: "shards[].file")) != nil else {
                throw TensorStoreError.malformed(
                    path: indexPath,
                    reason: "'shards[].file' is '\(s.file)'; expected a plain file name in the store's folder")
            }
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(s.file).path) else {
                throw TensorStoreError.unreadable(
                    path: folder.appendingPathComponent(s.file).path, reason: "shard listed in the index is missing")
            }
        }
        let listed = Set(index.shards.map(\.file))
        let entries = index.entries.sorted { $0.key < $1.key }
        if let (key, entry) = entries.first(where: { !listed.contains($0.value.shard) }) {
            throw TensorStoreError.malformed(
                path: indexPath, reason: "entry '\(key)' names shard '\(entry.shard)', which the index does not list")
        }
        if let (key, entry) = entries.first(where: {
            $0.value.shape.isEmpty || $0.value.shape.count > 8 || TensorShape.elementCount($0.value.shape) == nil
        }) {
            throw TensorStoreError.malformed(
                path: indexPath,
                reason: "entry '\(key)' has shape \(entry.shape); expected 1 to 8 dimensions, each ≥ 0, whose "
                    + "product fits in memory")
        }
    }

    /// Checks every shard's SHA-256 against the index (once per run, before the store feeds a model).
    /// - Throws: `TensorStoreError.malformed` naming the first shard whose bytes changed.
    public func checkShards() throws {
        for s in index.shards {
            let url = folder.appendingPathComponent(s.file)
            let sha = try SHA256.hex(fileAt: url)
            guard sha == s.sha256 else {
                throw TensorStoreError.malformed(
                    path: url.path,
                    reason: "SHA-256 \(sha.prefix(12))…; the index records \(s.sha256.prefix(12))… "
                        + "(the shard changed after the store was made; recompute it)")
            }
        }
    }

    /// The shard file holding `id`'s tensor, after checking that the tensor has the shape the index records.
    func located(_ id: String) throws -> (file: SafeTensorsFile, location: StoreIndex.Location) {
        guard let loc = index.entries[id] else {
            throw TensorStoreError.malformed(path: folder.path, reason: "no entry for '\(id)'")
        }
        let file = try shard(loc.shard)
        guard let entry = file.entries[loc.tensor] else {
            throw TensorStoreError.malformed(path: file.path, reason: "no tensor '\(loc.tensor)' (the index lists it)")
        }
        guard entry.shape == loc.shape else {
            throw TensorStoreError.malformed(
                path: file.path,
                reason: "tensor '\(loc.tensor)' has shape \(entry.shape); the index records \(loc.shape)")
        }
        return (file, loc)
    }

    /// Recomputes every shard's SHA-256 and returns the files whose hash differs from the index.
    /// - Throws: `CoreError.io` naming a shard that cannot be read.
    public func corruptShards() throws -> [String] {
        try index.shards.filter { try SHA256.hex(fileAt: folder.appendingPathComponent($0.file)) != $0.sha256 }.map(
            \.file)
    }

    func shard(_ name: String) throws -> SafeTensorsFile {
        lock.lock()
        defer { lock.unlock() }
        if let f = open[name] { return f }
        let f = try SafeTensorsFile(folder.appendingPathComponent(name))
        open[name] = f
        return f
    }

    /// The tensor stored for `id` (widened to Float) and its shape.
    public func tensor(_ id: String) throws -> (shape: [Int], values: [Float]) {
        let (file, loc) = try located(id)
        return (loc.shape, try file.values(loc.tensor))
    }

    /// Calls `body` with a float32 tensor in place, without copying.
    public func withTensor<R>(_ id: String, _ body: (UnsafeBufferPointer<Float>, [Int]) throws -> R) throws -> R {
        let (file, loc) = try located(id)
        return try file.withFloat32(loc.tensor) { try body($0, loc.shape) }
    }

    /// Tensors of `ids` in groups of `size`, each group zero-padded along the first axis to its
    /// longest member: `(values: size × maxFrames × width, frames per member)`.
    public func batches(_ ids: [String], size: Int) throws -> [(values: [Float], frames: [Int], width: Int)] {
        var out: [(values: [Float], frames: [Int], width: Int)] = []
        for start in stride(from: 0, to: ids.count, by: size) {
            let group = Array(ids[start..<min(ids.count, start + size)])
            let items = try group.map { try tensor($0) }
            let width = items.first?.shape.dropFirst().reduce(1, *) ?? 0
            let longest = items.map { $0.shape.first ?? 0 }.max() ?? 0
            var values = [Float](repeating: 0, count: group.count * longest * width)
            for (i, item) in items.enumerated() {
                for j in 0..<item.values.count { values[i * longest * width + j] = item.values[j] }
            }
            out.append((values, items.map { $0.shape.first ?? 0 }, width))
        }
        return out
    }
}
