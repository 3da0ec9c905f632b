import Foundation
import TKDCore
import TensorStore

/// `features/<preset>/config.json`: how a feature store was made (contract). The tensors themselves are a
/// sharded tensor store (`index.json`, `shard-*.safetensors`): one tensor per example, named by its id,
/// frames × features.
public struct FeatureStoreConfig: Sendable, Equatable, Codable, DescriptionFile {
    public static let madeBy = "a feature store made by tkd features"
    public static let fileName = "config.json"
    public static let currentFormat = "tkd-features/1"
    public var format = FeatureStoreConfig.currentFormat
    public var tool: String
    public var preset: String
    public var frontEnd: FrontEndConfig
    public var dtype: TensorDType
    /// Examples per shard (the last shard may hold fewer).
    public var examplesPerShard: Int
    /// SHA-256 of the three manifests, concatenated in split order: the dataset the store belongs to.
    public var manifestsSHA256: String

    enum CodingKeys: String, CodingKey {
        case format, tool, preset, dtype
        case frontEnd = "front_end"
        case examplesPerShard = "examples_per_shard"
        case manifestsSHA256 = "manifests_sha256"
    }

    public init(
        tool: String = "tkd \(TKDVersion.current)", preset: String, frontEnd: FrontEndConfig, dtype: TensorDType,
        examplesPerShard: Int, manifestsSHA256: String
    ) {
        self.tool = tool
        self.preset = preset
        self.frontEnd = frontEnd
        self.dtype = dtype
        self.examplesPerShard = examplesPerShard
        self.manifestsSHA256 = manifestsSHA256
    }

    /// Loads `folder/config.json`.
    /// - Throws: `DatasetFormatError` naming the file.
    public static func load(_ folder: URL) throws -> FeatureStoreConfig {
        try read(folder.appendingPathComponent(fileName))
    }
}
