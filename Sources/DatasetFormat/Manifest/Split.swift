import Foundation
import TKDCore

/// A dataset split. Raw values are the names Speech Commands and its list files use.
public enum Split: String, Sendable, CaseIterable, Codable, Comparable, ChoiceOption {
    case training
    case validation
    case testing

    public static func < (a: Split, b: Split) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
