import DatasetFormat
import Foundation
import TKDCore

/// A finished example of `tkd generate` (a Speech Commands recipe), or why it was left out.
struct GenerationEntry: Codable, Sendable {
    var record: ExampleRecord?
    var skipped: DatasetInfo.Skip?
}

/// The files of an unfinished `tkd generate` in `DATASET/.tkd-work/`.
enum WorkFiles {
    static func journal(dataset: URL, shard: Shard) -> URL {
        DatasetLayout(dataset).workFolder.appendingPathComponent("journal-\(shard.index)-of-\(shard.count).jsonl")
    }

    static func doneMarker(dataset: URL, shard: Shard) -> URL {
        DatasetLayout(dataset).workFolder.appendingPathComponent("done-\(shard.index)-of-\(shard.count)")
    }
}

/// An append-only log of finished work (`DATASET/.tkd-work/journal-<I>-of-<N>.jsonl`), so that a
/// killed run resumes where it stopped. One JSON object a line; a line cut off by a kill is dropped
/// on load (and the file truncated back to its last complete line).
final class WorkJournal<Entry: Codable & Sendable>: @unchecked Sendable {
    let url: URL
    private let handle: FileHandle
    private let lock = NSLock()

    /// Opens (creating) the journal and returns the entries already in it.
    init(url: URL) throws {
        self.url = url
        try AtomicFile.createParent(of: url)
        if !FileManager.default.fileExists(atPath: url.path) {
            FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        guard let h = try? FileHandle(forUpdating: url) else {
            throw CoreError.io(path: url.path, reason: "cannot open for appending")
        }
        handle = h
    }

    deinit { try? handle.close() }

    /// Complete entries; truncates a trailing partial line.
    func load() throws -> [Entry] {
        let data = try RegularFile.contents(url) ?? Data()
        var entries: [Entry] = []
        var good = 0
        var start = data.startIndex
        let decoder = JSONDecoder()
        while let nl = data[start...].firstIndex(of: 0x0A) {
            if let e = try? decoder.decode(Entry.self, from: data[start..<nl]) { entries.append(e) }
            start = nl + 1
            good = start - data.startIndex
        }
        if good != data.count {
            try handle.truncate(atOffset: UInt64(good))
        }
        try handle.seekToEnd()
        return entries
    }

    /// Flushes the journal to the disk (before the shard's done marker is written).
    func sync() throws {
        lock.lock()
        defer { lock.unlock() }
        try handle.synchronize()
    }

    func append(_ entry: Entry) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(entry)
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        try handle.write(contentsOf: line)
    }
}
