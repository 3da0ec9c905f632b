import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock file (`O_EXCL`, which every file system a cluster shares honours) holding its owner's
/// `<host>-<pid>`: one process at a time does what it guards (the final merge of a sharded run). A lock left by
/// a dead process of this host is broken, and so is one without an owner after a minute; one held by a live
/// process or another host is respected.
///
/// Breaking a stale lock: the file is first renamed to a name of the breaker's own, which only one process can do
/// to a given file, and deleted only if it still holds what named the dead owner; a fresh lock renamed by mistake
/// is linked back under the lock's name. (Only a third process taking the lock in that instant could then hold
/// it beside the owner of the fresh one; the merge it guards writes the same bytes either way.)
public final class FileLock {
    public let url: URL
    private var held = true

    private init(url: URL) { self.url = url }

    /// Takes the lock, or returns nil when another live process holds it. Does not create folders: the lock
    /// lives beside what it guards.
    /// - Throws: `CoreError.io` when the lock file cannot be created for another reason.
    public static func acquire(_ url: URL) throws -> FileLock? {
        for _ in 0..<3 {
            let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 {
                _ = AtomicFile.writeAll(Data((ProcessOwner.current.tag + "\n").utf8), fd: fd)
                _ = fsync(fd)
                close(fd)
                return FileLock(url: url)
            }
            guard errno == EEXIST else {
                throw CoreError.io(
                    path: url.path, reason: "cannot create the lock file: \(String(cString: strerror(errno)))")
            }
            guard let stale = staleContents(url) else { return nil }
            let aside = url.deletingLastPathComponent().appendingPathComponent(
                ".\(url.lastPathComponent).breaking-\(ProcessOwner.current.tag)")
            guard rename(url.path, aside.path) == 0 else { continue }  // another process broke it first
            if (try? Data(contentsOf: aside)) != stale {
                // A lock taken since we looked: give it back (unless yet another was taken meanwhile).
                _ = link(aside.path, url.path)
                unlink(aside.path)
                return nil
            }
            unlink(aside.path)
        }
        return nil
    }

    /// The lock file's bytes when its owner is gone (or, with no owner written, when it is over a minute old);
    /// nil when it is held.
    private static func staleContents(_ url: URL) -> Data? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if let owner = ProcessOwner(tag: text) { return owner.isGone ? data : nil }
        let modified = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate]) as? Date
        guard let modified, Date().timeIntervalSince(modified) > 60 else { return nil }
        return data
    }

    /// Releases the lock (also on deinit).
    public func release() {
        guard held else { return }
        held = false
        try? FileManager.default.removeItem(at: url)
    }

    deinit { release() }
}
