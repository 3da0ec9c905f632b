import Foundation

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
