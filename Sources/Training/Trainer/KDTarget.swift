import Foundation

/// What attention distillation pulls the student's a_S towards (`kd.target` in a training config,
/// `--kd-target` on the command line), written as `oracle`, `teacher` or `teacher:<fingerprint>`.
public enum KDTarget: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Uniform over the context steps whose centre lies inside the recorded speech-active span.
    case oracle
    /// The rollout of a teacher cache of the dataset: nil = the dataset's only cache, else its fingerprint
    /// (hex; a prefix will do).
    case teacher(fingerprint: String?)

    /// What the text form may be.
    public static let expected = "'oracle', 'teacher' or 'teacher:<fingerprint>'"

    /// Parses the text form; nil for anything else.
    public init?(_ text: String) {
        if text == "oracle" {
            self = .oracle
        } else if text == "teacher" {
            self = .teacher(fingerprint: nil)
        } else if text.hasPrefix("teacher:") {
            let fp = String(text.dropFirst("teacher:".count))
            guard !fp.isEmpty, fp.allSatisfy(\.isHexDigit) else { return nil }
            self = .teacher(fingerprint: fp)
        } else {
            return nil
        }
    }

    /// The one message for text that is not a KD target.
    public static func problem(_ text: String) -> String { "expected \(expected), found '\(text)'" }

    public var description: String {
        switch self {
        case .oracle: return "oracle"
        case .teacher(nil): return "teacher"
        case let .teacher(fingerprint?): return "teacher:\(fingerprint)"
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let target = KDTarget(text) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: Self.problem(text)))
        }
        self = target
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
