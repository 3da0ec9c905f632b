import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reading a file whose path came from a user or another file: only a regular file is read (after following
/// links), so that a FIFO, a device or a folder under a trusted name (`manifests/training.jsonl` made a pipe in
/// a downloaded archive) cannot block or feed a reader forever.
public enum RegularFile {
    /// What is at a path, after following links.
    public enum Kind: Equatable, Sendable {
        case regular, missing
        /// Anything else, described ("a FIFO", "a folder", or the error of stat(2)).
        case other(String)
    }

    public static func kind(_ url: URL) -> Kind {
        var st = stat()
        guard stat(url.path, &st) == 0 else {
            return errno == ENOENT || errno == ENOTDIR ? .missing : .other(String(cString: strerror(errno)))
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .other("a folder")
        case S_IFIFO: return .other("a FIFO")
        case S_IFCHR, S_IFBLK: return .other("a device")
        case S_IFSOCK: return .other("a socket")
        default: return .other("not a regular file")
        }
    }

    /// The file's bytes, or nil when nothing is at `url`.
    /// - Throws: `CoreError.io` naming the file when it is not a regular file or cannot be read.
    public static func contents(_ url: URL) throws -> Data? {
        guard try checked(url) else { return nil }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CoreError.io(path: url.path, reason: "unreadable")
        }
        return data
    }

    /// Throws unless `url` is a regular file or absent.
    public static func requireRegular(_ url: URL) throws { _ = try checked(url) }

    /// True for a regular file, false when absent; throws for anything else.
    private static func checked(_ url: URL) throws -> Bool {
        switch kind(url) {
        case .regular: return true
        case .missing: return false
        case let .other(what): throw CoreError.io(path: url.path, reason: "is \(what); expected a regular file")
        }
    }
}
