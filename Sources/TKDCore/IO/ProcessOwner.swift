import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A process on a host, as written into temporary-file names and lock files (`<host>-<pid>`), so that a later
/// run can tell its own and dead processes' leftovers from those of a live process or another machine.
public struct ProcessOwner: Sendable, Equatable {
    /// The host name, reduced to letters, digits and `_` (at most 32 characters, so that a temporary name stays
    /// within the file system's 255 bytes for any final name tkd writes).
    public let host: String
    public let pid: Int32

    /// This process.
    public static let current = ProcessOwner(host: hostName(), pid: ProcessInfo.processInfo.processIdentifier)

    public init(host: String, pid: Int32) {
        self.host = host
        self.pid = pid
    }

    /// `<host>-<pid>`.
    public var tag: String { "\(host)-\(pid)" }

    /// Parses `<host>-<pid>` or `<host>-<pid>-<n>` (host names are kept free of `-`).
    public init?(tag: String) {
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty, let pid = Int32(parts[1]), pid > 0,
            parts.count == 2 || Int(parts[2]) != nil
        else { return nil }
        self.init(host: String(parts[0]), pid: pid)
    }

    /// True when the process ran on this host and no longer exists. This process is never gone (another of its
    /// threads may be writing the temporary or holding the lock), nor is a process of another host (it cannot be
    /// asked).
    public var isGone: Bool {
        guard host == Self.current.host, pid != Self.current.pid else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let raw = gethostname(&buffer, buffer.count) == 0 ? String(cString: buffer) : "host"
        let kept = raw.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == "_" }
        let name = String(String.UnicodeScalarView(kept.prefix(32)))
        return name.isEmpty ? "host" : name
    }
}
