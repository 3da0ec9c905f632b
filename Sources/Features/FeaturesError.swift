import Foundation

/// Errors of feature extraction. Each names the input and says what was seen and expected.
public enum FeaturesError: Error, Equatable, Sendable {
    case unknownPreset(name: String, available: [String])
    case tooShort(path: String, samples: Int, needed: Int)
    case nonFinite(path: String, index: Int)
    case sampleRateMismatch(path: String, sampleRate: Int, expected: Int)
    case invalidConfig(field: String, value: String, expected: String)
}

extension FeaturesError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .unknownPreset(name, available):
            return "features: unknown preset '\(name)'; expected one of: \(available.joined(separator: ", "))."
        case let .tooShort(path, samples, needed):
            return
                "features: \(path): \(samples) samples is shorter than one analysis window; expected at least "
                + "\(needed)."
        case let .nonFinite(path, index):
            return "features: \(path): sample \(index) is NaN or infinite; expected finite audio."
        case let .sampleRateMismatch(path, rate, expected):
            return
                "features: \(path): sample rate \(rate) Hz; the preset expects \(expected) Hz. Hint: pass "
                + "--resample to convert, or choose a preset for this rate (--sample-rate)."
        case let .invalidConfig(field, value, expected):
            return "features: \(field) = \(value); expected \(expected)."
        }
    }
    public var errorDescription: String? { description }
}
