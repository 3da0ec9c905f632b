import Foundation
import TKDCore

/// Reads a sharded store: the index, then shards memory-mapped on first use.
public final class ShardedStoreReader: @unchecked Sendable {
    public let folder: URL
    public let index: StoreIndex
    private let lock = NSLock()
    private var open: [String: SafeTensorsFile] = [:]

    /// - Throws: `TensorStoreError` when the index is missing or unreadable, or a shard file is missing.
    public init(_ folder: URL) throws {
        self.folder = folder
        let url = folder.appendingPathComponent(StoreIndex.fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TensorStoreError.unreadable(path: url.path, reason: "no index; the store is missing or unfinished")
        }
        do { index = try JSONDecoder().decode(StoreIndex.self, from: data) } catch {
            throw TensorStoreError.malformed(path: url.path, reason: CanonicalJSON.describe(error))
        }
        for s in index.shards where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(s.file).path)
        {
            throw TensorStoreError.unreadable(
                path: folder.appendingPathComponent(s.file).path, reason: "shard listed in the index is missing")
        }
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
        guard let loc = index.entries[id] else {
            throw TensorStoreError.malformed(path: folder.path, reason: "no entry for '\(id)'")
        }
        return (loc.shape, try shard(loc.shard).values(loc.tensor))
    }

    /// Calls `body` with a float32 tensor in place, without copying.
    public func withTensor<R>(_ id: String, _ body: (UnsafeBufferPointer<Float>, [Int]) throws -> R) throws -> R {
        guard let loc = index.entries[id] else {
            throw TensorStoreError.malformed(path: folder.path, reason: "no entry for '\(id)'")
        }
        return try shard(loc.shard).withFloat32(loc.tensor) { try body($0, loc.shape) }
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
