import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reading a file whose path came from a user or another file: only a regular file is read (after following
/// links), so that a FIFO, a device or a folder under a trusted name (`manifests/training.jsonl` made a pipe in
/// a downloaded archive) cannot block or feed a reader forever.
public enum RegularFile {
    /// The file's bytes, or nil when nothing is at `url`.
    /// - Throws: `CoreError.io` naming the file when it is not a regular file or cannot be read.
    public static func contents(_ url: URL) throws -> Data? {
        var st = stat()
        guard stat(url.path, &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw CoreError.io(path: url.path, reason: String(cString: strerror(errno)))
        }
        try check(st, url)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CoreError.io(path: url.path, reason: "unreadable")
        }
        return data
    }

    /// Throws unless `url` is a regular file (or absent).
    public static func requireRegular(_ url: URL) throws {
        var st = stat()
        guard stat(url.path, &st) == 0 else { return }
        try check(st, url)
    }

    private static func check(_ st: stat, _ url: URL) throws {
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            let kind: String
            switch st.st_mode & S_IFMT {
            case S_IFDIR: kind = "a folder"
            case S_IFIFO: kind = "a FIFO"
            case S_IFCHR, S_IFBLK: kind = "a device"
            case S_IFSOCK: kind = "a socket"
            default: kind = "not a regular file"
            }
            throw CoreError.io(path: url.path, reason: "is \(kind); expected a regular file")
        }
    }
}
