import Foundation

/// One part of a job split N ways: `--shard I/N` (0-based I), or a Slurm job array's
/// `SLURM_ARRAY_TASK_ID` / `SLURM_ARRAY_TASK_COUNT` when `--shard` is absent.
/// Item `k` (in the stage's canonical order) belongs to shard `k mod N`.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let whole = Shard(index: 0, count: 1)

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index), "shard \(index)/\(count)")
        self.index = index
        self.count = count
    }

    /// Parses `I/N`.
    /// - Throws: `CoreError.invalidValue` for anything else or I outside 0..<N.
    public static func parse(_ text: String, field: String = "--shard") throws -> Shard {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else {
            throw CoreError.invalidValue(field: field, value: text, expected: "I/N with 0 ≤ I < N, e.g. 0/4")
        }
        return Shard(index: i, count: n)
    }

    /// `--shard` if given, else the Slurm array variables, else the whole job.
    public static func resolve(
        _ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Shard {
        if let option { return try parse(option) }
        guard let id = environment["SLURM_ARRAY_TASK_ID"], let count = environment["SLURM_ARRAY_TASK_COUNT"] else {
            return .whole
        }
        // Slurm arrays may start at SLURM_ARRAY_TASK_MIN (often 0 or 1).
        let minimum = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
        guard let i = Int(id), let n = Int(count), n >= 1,
            case let (index, false) = i.subtractingReportingOverflow(minimum),
            (0..<n).contains(index)
        else {
            throw CoreError.invalidValue(
                field: "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT", value: "\(id)/\(count)",
                expected: "a task id within the array (minus SLURM_ARRAY_TASK_MIN) below the count")
        }
        return Shard(index: index, count: n)
    }

    public func owns(_ item: Int) -> Bool { item % count == index }

    public var description: String { "\(index)/\(count)" }
}
