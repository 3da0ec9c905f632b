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

    /// Reads `folder/index.json` without trusting it (the store's reader and `verify` both start here): every
    /// shard a plain file name in the folder, every entry in a listed shard with a shape of 1 to 8 dimensions,
    /// each ≥ 0, whose product fits in memory.
    /// - Throws: `TensorStoreError` naming the index and what is wrong.
    public static func load(_ folder: URL) throws -> StoreIndex {
        let url = folder.appendingPathComponent(fileName)
        let data: Data?
        do { data = try RegularFile.contents(url) } catch let CoreError.io(_, reason) {
            throw TensorStoreError.unreadable(path: url.path, reason: reason)
        }
        guard let data else {
            throw TensorStoreError.unreadable(path: url.path, reason: "no index; the store is missing or unfinished")
        }
        let index: StoreIndex
        do { index = try JSONDecoder().decode(StoreIndex.self, from: data) } catch {
            throw TensorStoreError.malformed(path: url.path, reason: CanonicalJSON.describe(error))
        }
        for s in index.shards where (try? ContainedPath.checkName(s.file, field: "shards[].file")) == nil {
            throw TensorStoreError.malformed(
                path: url.path,
                reason: "'shards[].file' is '\(s.file)'; expected a plain file name in the store's folder")
        }
        let listed = Set(index.shards.map(\.file))
        let entries = index.entries.sorted { $0.key < $1.key }
        if let (key, entry) = entries.first(where: { !listed.contains($0.value.shard) }) {
            throw TensorStoreError.malformed(
                path: url.path, reason: "entry '\(key)' names shard '\(entry.shard)', which the index does not list")
        }
        if let (key, entry) = entries.first(where: {
            $0.value.shape.isEmpty || $0.value.shape.count > 8 || TensorShape.elementCount($0.value.shape) == nil
        }) {
            throw TensorStoreError.malformed(
                path: url.path,
                reason: "entry '\(key)' has shape \(entry.shape); expected 1 to 8 dimensions, each ≥ 0, whose "
                    + "product fits in memory")
        }
        return index
    }
}
