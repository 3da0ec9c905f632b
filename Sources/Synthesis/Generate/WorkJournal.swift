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

    /// The output folder before any work: the dataset already there (nil when there is none yet, or only the
    /// unfinished work of one). A non-empty folder that is neither is refused, naming what is there.
    static func existingDataset(_ dataset: URL) throws -> DatasetInfo? {
        let layout = DatasetLayout(dataset)
        guard FileManager.default.fileExists(atPath: layout.info.path) else {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dataset.path)) ?? []).sorted()
            let unfinished = names.contains(layout.workFolder.lastPathComponent)
            let foreign = names.filter { !unfinished || !["audio", "manifests", ".tkd-work"].contains($0) }
            guard foreign.isEmpty else { throw GenerateError.outputNotADataset(path: dataset.path, found: foreign) }
            return nil
        }
        return try DatasetInfo.load(dataset)
    }

    /// Records what the unfinished work makes (the recipe and variant) in `.tkd-work/plan.json`, or refuses when
    /// journals there come from another plan (shards must not mix plans before the merge).
    static func pin<Plan: Codable & Equatable>(_ plan: Plan, dataset: URL) throws {
        let url = DatasetLayout(dataset).workFolder.appendingPathComponent("plan.json")
        if let data = try RegularFile.contents(url) {
            guard let old = try? JSONDecoder().decode(Plan.self, from: data), old == plan else {
                throw GenerateError.outputFromOtherRecipe(path: dataset.path)
            }
            return
        }
        try AtomicFile.write(try CanonicalJSON.encodePretty(plan), to: url, durable: true)
    }

    /// The merge lock, held when every shard of `shard.count` has its done marker and this process is the one to
    /// merge; nil otherwise. Shards that finish together: one merges under the lock, the others leave it to it; a
    /// shard that takes the lock after another merged finds the work folder (and its done-markers) gone.
    static func mergeLock(dataset: URL, shard: Shard) throws -> FileLock? {
        let n = shard.count
        func allDone() -> Bool {
            (0..<n).allSatisfy {
                FileManager.default.fileExists(
                    atPath: doneMarker(dataset: dataset, shard: Shard(index: $0, count: n)).path)
            }
        }
        guard allDone() else { return nil }
        let work = DatasetLayout(dataset).workFolder
        let lock: FileLock?
        do { lock = try FileLock.acquire(work.appendingPathComponent("merge.lock")) } catch {
            if !FileManager.default.fileExists(atPath: work.path) { return nil }
            throw error
        }
        guard let lock else { return nil }
        guard allDone() else {
            lock.release()
            return nil
        }
        return lock
    }

    /// The entries the other shards of the run journalled.
    static func otherShardsEntries<Entry: Codable & Sendable>(
        _: Entry.Type, dataset: URL, shard: Shard
    ) throws
        -> [Entry]
    {
        var entries: [Entry] = []
        for i in 0..<shard.count where i != shard.index {
            let url = journal(dataset: dataset, shard: Shard(index: i, count: shard.count))
            if FileManager.default.fileExists(atPath: url.path) { entries += try WorkJournal<Entry>(url: url).load() }
        }
        return entries
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
