import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Atomic file output: everything is written under a temporary name in the destination folder and
/// renamed into place only when complete, so no partial file ever carries its final name.
public enum AtomicFile {
    /// A temporary path beside `url`: `.<name>.partial-<host>-<pid>-<n>`. Hidden, unique per host, process and
    /// call, and recognisable so that a later run cleans up dead processes' leftovers (`removeStaleTemporaries`)
    /// without touching a live process's.
    public static func temporaryURL(for url: URL) -> URL {
        let n = counter.next()
        let name = ".\(url.lastPathComponent).partial-\(ProcessOwner.current.tag)-\(n)"
        return url.deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Whether a file name is one of our temporaries.
    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(".partial-")
    }

    /// Removes the temporaries in `folder` that a process of this host that no longer runs left; those of live
    /// processes (this one included) and of other hosts are kept. Returns how many were removed.
    @discardableResult
    public static func removeStaleTemporaries(in folder: URL) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var removed = 0
        for name in names where isTemporary(name) {
            guard let range = name.range(of: ".partial-") else { continue }
            let owner = ProcessOwner(tag: String(name[range.upperBound...]))
            guard owner?.isGone ?? false else { continue }
            if (try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))) != nil { removed += 1 }
        }
        return removed
    }

    /// Writes `data` to `url` atomically, creating the parent folder if needed. `durable` also flushes the
    /// file and then its folder to the disk (fsync), so that a power loss leaves either the old or the new
    /// file under the name: for checkpoints, manifests, journals and indexes.
    /// - Throws: `CoreError.io` naming the destination.
    public static func write(_ data: Data, to url: URL, durable: Bool = false) throws {
        try createParent(of: url)
        let tmp = temporaryURL(for: url)
        do {
            try writeNew(data, to: tmp.path, sync: durable)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw CoreError.io(path: url.path, reason: "write failed: \(error)")
        }
        try commit(tmp, to: url)
        if durable { syncFolder(of: url) }
    }

    /// fsync of the folder holding `url` (makes a rename or a new name durable).
    static func syncFolder(of url: URL) {
        let fd = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Writes every byte; returns 0 or the errno of the failure.
    static func writeAll(_ data: Data, fd: Int32) -> Int32 {
        data.withUnsafeBytes { raw -> Int32 in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return 0
        }
    }

    /// POSIX create + write (+ fsync when `sync`) + close. Without fsync a file that a crash leaves
    /// incomplete is caught by the SHA-256 checks every resumed stage makes before it trusts a finished file.
    private static func writeNew(_ data: Data, to path: String, sync: Bool) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CoreError.io(path: path, reason: String(cString: strerror(errno))) }
        var failure = writeAll(data, fd: fd)
        if failure == 0 && sync && fsync(fd) != 0 { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure != 0 { throw CoreError.io(path: path, reason: String(cString: strerror(failure))) }
    }

    /// Moves a finished temporary file onto its final name (rename(2): atomic on one file system).
    public static func commit(_ tmp: URL, to url: URL) throws {
        if rename(tmp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw CoreError.io(path: url.path, reason: "rename from temporary file failed: \(reason)")
        }
    }

    public static func createParent(of url: URL) throws {
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw CoreError.io(path: dir.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
    }

    private static let counter = AtomicCounter()
}

/// A thread-safe increasing counter.
public final class AtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    public init() {}
    public func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
