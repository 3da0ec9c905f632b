import Foundation

/// One JSON object made of two parts side by side: keys every file of a kind has (`common`, defined once)
/// and keys one kind of run adds (`details`). Both read as the value's own fields (`value.step`,
/// `value.student`). Training states (`TrainingStateDescription`) and run results (`RunResult`) are made
/// this way.
@dynamicMemberLookup
public struct SideBySide<Common: Codable & Equatable & Sendable, Details: Codable & Equatable & Sendable>: Codable,
    Equatable, Sendable
{
    public var common: Common
    public var details: Details

    public init(common: Common, details: Details) {
        self.common = common
        self.details = details
    }

    public subscript<T>(dynamicMember path: KeyPath<Common, T>) -> T { common[keyPath: path] }
    public subscript<T>(dynamicMember path: KeyPath<Details, T>) -> T { details[keyPath: path] }

    public init(from decoder: Decoder) throws {
        common = try Common(from: decoder)
        details = try Details(from: decoder)
    }

    /// Both parts' keys into the same JSON object.
    public func encode(to encoder: Encoder) throws {
        try common.encode(to: encoder)
        try details.encode(to: encoder)
    }
}
