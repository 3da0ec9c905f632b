import Foundation
import TKDCore

/// The index of a sharded tensor store (`index.json`, contract): which shard holds which tensor, with
/// a SHA-256 per shard.
public struct StoreIndex: Sendable, Equatable, Codable {
    public static let fileName = "index.json"
    public static let currentFormat = "tkd-tensor-store/1"

    public struct Location: Sendable, Equatable, Codable {
        public var shard: String
        public var tensor: String
        public var shape: [Int]
        /// SHA-256 of the input the tensor was computed from (e.g. the example's audio), to detect staleness.
        public var sourceSHA256: String?

        enum CodingKeys: String, CodingKey {
            case shard, tensor, shape
            case sourceSHA256 = "source_sha256"
        }
    }

    public struct ShardInfo: Sendable, Equatable, Codable {
        public var file: String
        public var sha256: String
        public var bytes: Int
        public var tensors: Int
    }

    public var format: String
    public var dtype: TensorDType
    public var entries: [String: Location]
    public var shards: [ShardInfo]

    public init(dtype: TensorDType, entries: [String: Location], shards: [ShardInfo]) {
        self.format = Self.currentFormat
        self.dtype = dtype
        self.entries = entries
        self.shards = shards
    }
}

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
    public func corruptShards() throws -> [String] {
        Self.verify(folder, expected: []).shards.filter { $0.problem != nil }.map(\.name)
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

/// What `ShardedStoreReader.verify` found: one finding per shard the index lists and per expected key.
public struct StoreVerification: Sendable {
    public struct Finding: Sendable, Equatable {
        /// The shard file or the tensor key.
        public var name: String
        /// What is wrong, or nil when the check passed.
        public var problem: String?
    }

    /// Why `index.json` could not be used (then nothing else was checked).
    public var indexProblem: String?
    public var index: StoreIndex?
    public var shards: [Finding] = []
    public var entries: [Finding] = []

    /// The index is readable and every shard has the SHA-256 it records.
    public var intact: Bool { indexProblem == nil && shards.allSatisfy { $0.problem == nil } }
}

extension ShardedStoreReader {
    /// Checks a store folder without trusting it: every shard listed in `index.json` must exist with the
    /// SHA-256 the index records, and every expected key must have an entry computed from the expected source.
    /// Nothing is modified.
    /// - Parameter expected: tensor key → the SHA-256 of the source it should have been computed from.
    public static func verify(_ folder: URL, expected: [(key: String, sourceSHA256: String)]) -> StoreVerification {
        var result = StoreVerification()
        let indexURL = folder.appendingPathComponent(StoreIndex.fileName)
        guard let data = FileManager.default.contents(atPath: indexURL.path),
            let index = try? JSONDecoder().decode(StoreIndex.self, from: data)
        else {
            result.indexProblem = "no readable index.json (incomplete store)"
            return result
        }
        result.index = index
        for s in index.shards {
            let sha = try? SHA256.hex(fileAt: folder.appendingPathComponent(s.file))
            let problem: String? =
                sha == s.sha256
                ? nil
                : sha == nil
                    ? "shard \(s.file) is missing"
                    : "shard \(s.file) has SHA-256 \(sha!.prefix(12))…; the index records \(s.sha256.prefix(12))…"
            result.shards.append(.init(name: s.file, problem: problem))
        }
        for (key, source) in expected {
            var problem: String?
            if let e = index.entries[key] {
                if let found = e.sourceSHA256, found != source {
                    problem =
                        "'\(key)' was computed from source \(found.prefix(12))…; the dataset's is \(source.prefix(12))…"
                }
            } else {
                problem = "no entry '\(key)'"
            }
            result.entries.append(.init(name: key, problem: problem))
        }
        return result
    }
}
