import Foundation
import TKDCore

/// Reads a sharded store: the index, then shards memory-mapped on first use.
public final class ShardedStoreReader: @unchecked Sendable {
    public let folder: URL
    public let index: StoreIndex
    private let lock = NSLock()
    private var open: [String: SafeTensorsFile] = [:]

    /// - Throws: `TensorStoreError` when the index is missing or unusable (`StoreIndex.load`) or a shard it
    ///   lists is missing.
    public init(_ folder: URL) throws {
        self.folder = folder
        index = try StoreIndex.load(folder)
        for s in index.shards where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(s.file).path)
        {
            throw TensorStoreError.unreadable(
                path: folder.appendingPathComponent(s.file).path, reason: "shard listed in the index is missing")
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

    func shard(_ name: String) throws -> SafeTensorsFile {
        lock.lock()
        defer { lock.unlock() }
        if let f = open[name] { return f }
        let f = try SafeTensorsFile(folder.appendingPathComponent(name))
        open[name] = f
        return f
    }

    /// Checks that `id`'s tensor is in its shard (whose header parses) with the shape the index records, without
    /// reading its values.
    /// - Throws: `TensorStoreError` naming the shard or the index.
    public func checkEntry(_ id: String) throws { _ = try located(id) }

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
}
