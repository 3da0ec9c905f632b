import DatasetFormat
import Foundation

extension FrontEndPreset {
    /// Looks a preset up by name.
    /// - Throws: `FeaturesError.unknownPreset` listing the names.
    public static func named(_ name: String) throws -> FrontEndPreset {
        guard let p = FrontEndPreset(rawValue: name) else {
            throw FeaturesError.unknownPreset(name: name, available: allCases.map(\.rawValue))
        }
        return p
    }
}
