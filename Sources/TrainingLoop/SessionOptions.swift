import Foundation
import TKDCore

/// How a `TrainingSession` runs: worker threads, progress output, an early stop, where messages go. The
/// results do not depend on any of them.
public struct SessionOptions: @unchecked Sendable {
    /// Worker threads for the chunked layers and data loading.
    public var jobs = 1
    public var progress: ProgressMode = .auto
    /// Stop after this many steps in this invocation (saving the resumable state); a rerun resumes. nil = to the end.
    public var stopAfter: Int?
    /// Stop at the first step boundary after this many seconds of this invocation (saving the state). nil = no limit.
    public var stopAfterSeconds: Double?
    /// Where one-line messages go (resume and stop notices).
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init() {}
}
