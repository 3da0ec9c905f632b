import Foundation
import TKDCore

/// The JSON files that describe a dataset and its stores (`dataset.json`, a feature store's `config.json`, a
/// teacher cache's `cache.json`): read and decoded in one way, with one error for a missing or unreadable file.
public protocol DescriptionFile: Decodable {
    /// What the file is made by, for the error when it is missing ("a dataset made by tkd generate").
    static var madeBy: String { get }
}

extension DescriptionFile {
    /// Decodes the file at `url`.
    /// - Throws: `DatasetFormatError.missing` or `.unreadable` naming the file.
    public static func read(_ url: URL) throws -> Self {
        guard let data = try RegularFile.contents(url) else {
            throw DatasetFormatError.missing(path: url.path, expected: madeBy)
        }
        do {
            return try JSONDecoder().decode(Self.self, from: data)
        } catch {
            throw DatasetFormatError.unreadable(path: url.path, reason: CanonicalJSON.describe(error))
        }
    }
}
