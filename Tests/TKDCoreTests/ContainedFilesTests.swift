import Foundation
import TestSupport
import Testing

@testable import TKDCore

@Suite("Contained paths, temporaries and lock files")
struct ContainedFilesTests {
    @Test("paths read from files stay in their root: absolute, '..', empty parts, NUL and links out are refused")
    func containedPaths() throws {
        let root = try TestFolder.make("contained")
        defer { try? FileManager.default.removeItem(at: root) }
        let inside = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(
            at: inside.appendingPathComponent("audio"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: inside.appendingPathComponent("audio/a.wav"))
        try Data("outside".utf8).write(to: root.appendingPathComponent("secret.wav"))
        try FileManager.default.createSymbolicLink(
            at: inside.appendingPathComponent("audio/link.wav"),
            withDestinationURL: root.appendingPathComponent("secret.wav"))
        try FileManager.default.createSymbolicLink(
            at: inside.appendingPathComponent("out"), withDestinationURL: root)
        try FileManager.default.createSymbolicLink(
            at: inside.appendingPathComponent("audio/zero.wav"), withDestinationURL: URL(fileURLWithPath: "/dev/zero"))

        let ok = try ContainedPath.resolve("audio/a.wav", under: inside, field: "audio", regularFile: true)
        #expect(ok.path == inside.appendingPathComponent("audio/a.wav").path)
        // A path that does not exist yet is fine when only containment is asked.
        _ = try ContainedPath.resolve("audio/new.wav", under: inside, field: "audio")
        for (bad, why) in [
            ("", "empty"), ("/etc/passwd", "absolute"), ("../secret.wav", ".."), ("audio/../../secret.wav", ".."),
            ("audio//a.wav", "empty or '.'"), ("./audio/a.wav", "empty or '.'"), ("audio/a\0.wav", "NUL"),
            ("audio/link.wav", "symbolic link"), ("out/secret.wav", "symbolic link"), ("out/new.wav", "symbolic link"),
            ("audio", "not a regular file"), ("audio/missing.wav", "no such file"),
        ] {
            #expect("\(bad)") {
                try ContainedPath.resolve(bad, under: inside, field: "manifest:3 audio", regularFile: true)
            } throws: { e in
                "\(e)".contains("manifest:3 audio") && "\(e)".contains(why)
            }
        }
        // A link to a device inside the root's name space still leads out of it.
        #expect(throws: CoreError.self) {
            try ContainedPath.resolve("audio/zero.wav", under: inside, field: "audio", regularFile: true)
        }
        for name in ["a.wav", "run-1"] { try ContainedPath.checkName(name, field: "name") }
        for name in ["", "a/b", ".hidden", "..", "/abs"] {
            #expect(throws: CoreError.self, "\(name)") { try ContainedPath.checkName(name, field: "name") }
        }
    }

    /// The pid of a process that has exited.
    func deadPID() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    @Test("stale temporaries: dead processes' of this host go; this process's, live ones' and other hosts' stay")
    func staleTemporaries() throws {
        let dir = try TestFolder.make("temporaries")
        defer { try? FileManager.default.removeItem(at: dir) }
        let me = ProcessOwner.current, dead = try deadPID()
        let parent = ProcessOwner(host: me.host, pid: getppid())
        let names = [
            ".b.json.partial-\(me.host)-\(dead)-4",  // dead, this host: removed
            ".a.json.partial-\(me.tag)-1",  // this process (another thread may be writing it): kept
            ".c.json.partial-\(parent.tag)-2",  // live (the test runner's parent): kept
            ".d.json.partial-otherhost-\(dead)-3",  // another host: kept whatever the pid
            ".e.json.partial-garbled",  // not ours to judge: kept
            "final.json",  // not a temporary: kept
        ]
        for n in names { try Data().write(to: dir.appendingPathComponent(n)) }
        #expect(AtomicFile.removeStaleTemporaries(in: dir) == 1)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(left == Set(names.dropFirst()))
        let t = AtomicFile.temporaryURL(for: dir.appendingPathComponent("x.safetensors")).lastPathComponent
        #expect(t.hasPrefix(".x.safetensors.partial-\(me.tag)-") && AtomicFile.isTemporary(t))
        #expect(ProcessOwner(tag: "\(me.host)-\(dead)-7") == ProcessOwner(host: me.host, pid: dead))
        #expect(ProcessOwner(tag: "a-b-c") == nil && ProcessOwner(tag: "host--1") == nil)
    }

    @Test("lock files: one holder at a time; a dead owner's lock is broken, a live or remote owner's kept")
    func locks() throws {
        let dir = try TestFolder.make("locks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("merge.lock")
        let first = try #require(try FileLock.acquire(url))
        #expect(try String(contentsOf: url, encoding: .utf8) == ProcessOwner.current.tag + "\n")
        #expect(try FileLock.acquire(url) == nil, "held by this process: not taken again, not broken")
        first.release()
        #expect(!FileManager.default.fileExists(atPath: url.path))

        let live = ProcessOwner(host: ProcessOwner.current.host, pid: getppid())
        try Data((live.tag + "\n").utf8).write(to: url)
        #expect(try FileLock.acquire(url) == nil)
        try Data("otherhost-1\n".utf8).write(to: url)
        #expect(try FileLock.acquire(url) == nil)
        try Data("".utf8).write(to: url)
        #expect(try FileLock.acquire(url) == nil, "an ownerless lock younger than a minute is respected")
        try Data("\(ProcessOwner.current.host)-\(try deadPID())\n".utf8).write(to: url)
        let taken = try #require(try FileLock.acquire(url), "a dead owner's lock is broken")
        #expect(try String(contentsOf: url, encoding: .utf8) == ProcessOwner.current.tag + "\n")
        taken.release()
    }
}
