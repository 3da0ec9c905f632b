import Foundation

/// One failed check: which check, which example (when it concerns one) and what was seen.
public struct VerifyFailure: Sendable, Equatable, Codable {
    public var check: String
    public var id: String?
    public var path: String?
    public var detail: String
}

/// A check's tally.
public struct VerifyCheck: Sendable, Equatable, Codable {
    public var name: String
    public var checked: Int
    public var failed: Int
    /// Why the check did not run (e.g. no `--corpus` for the re-render).
    public var skipped: String?
}

/// What `tkd verify` found (`--json` prints it).
public struct VerifyReport: Sendable, Equatable, Codable {
    public var dataset: String
    public var examples: Int
    public var audioChecked: Int
    public var checks: [VerifyCheck]
    public var failures: [VerifyFailure]
    /// Rollout localisation per teacher cache (fingerprint → summary line).
    public var teachers: [String: String]
    /// No check failed.
    public var passed: Bool

    enum CodingKeys: String, CodingKey {
        case dataset, examples, checks, failures, teachers, passed
        case audioChecked = "audio_checked"
    }

    public init(
        dataset: String, examples: Int, audioChecked: Int, checks: [VerifyCheck], failures: [VerifyFailure],
        teachers: [String: String]
    ) {
        self.dataset = dataset
        self.examples = examples
        self.audioChecked = audioChecked
        self.checks = checks
        self.failures = failures
        self.teachers = teachers
        passed = failures.isEmpty
    }
}
