import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock file (`O_EXCL`) holding its owner's `<host>-<pid>`: one process at a time does what it
/// guards (the final merge of a sharded run). A lock left by a dead process of this host is broken, and so is
/// one without an owner after a minute; one held by a live process or another host is respected.
public final class FileLock {
    public let url: URL
    private var held = true

    private init(url: URL) { self.url = url }

    /// Takes the lock, or returns nil when another live process holds it.
    /// - Throws: `CoreError.io` when the lock file cannot be created for another reason.
    public static func acquire(_ url: URL) throws -> FileLock? {
        try AtomicFile.createParent(of: url)
        for _ in 0..<2 {
            let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 {
                let text = ProcessOwner.current.tag + "\n"
                _ = text.withCString { write(fd, $0, strlen($0)) }
                _ = fsync(fd)
                close(fd)
                return FileLock(url: url)
            }
            guard errno == EEXIST else {
                throw CoreError.io(
                    path: url.path, reason: "cannot create the lock file: \(String(cString: strerror(errno)))")
            }
            let text = (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if let owner = text.flatMap(ProcessOwner.init(tag:)) {
                guard owner.isGone else { return nil }
            } else {
                // No owner written: the creator died between creating and writing it, or is about to write;
                // after a minute it is taken for dead.
                let modified = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate]) as? Date
                guard let modified, Date().timeIntervalSince(modified) > 60 else { return nil }
            }
            try? FileManager.default.removeItem(at: url)
        }
        return nil
    }

    /// Releases the lock (also on deinit).
    public func release() {
        guard held else { return }
        held = false
        try? FileManager.default.removeItem(at: url)
    }

    deinit { release() }
}
