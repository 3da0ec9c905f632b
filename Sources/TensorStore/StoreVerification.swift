import Foundation
import TKDCore

/// What `ShardedStoreReader.verify` found: one finding per shard the index lists and per expected key.
public struct StoreVerification: Sendable {
    public struct Finding: Sendable, Equatable {
        /// The shard file or the tensor key.
        public var name: String
        /// What is wrong, or nil when the check passed.
        public var problem: String?
    }

    /// Why `index.json` could not be used (then nothing else was checked).
    public var indexProblem: String?
    public var index: StoreIndex?
    public var shards: [Finding] = []
    public var entries: [Finding] = []

    /// The index is readable and every shard has the SHA-256 it records.
    public var intact: Bool { indexProblem == nil && shards.allSatisfy { $0.problem == nil } }
}

extension ShardedStoreReader {
    /// Checks a store folder without trusting it: every shard listed in `index.json` must exist with the
    /// SHA-256 the index records, and every expected key must have an entry computed from the expected source.
    /// Nothing is modified.
    /// - Parameter expected: tensor key → the SHA-256 of the source it should have been computed from.
    /// - Parameter sourceName: what the sources are, in messages ("audio").
    public static func verify(
        _ folder: URL, expected: [(key: String, sourceSHA256: String)], sourceName: String = "source"
    ) -> StoreVerification {
        var result = StoreVerification()
        let index: StoreIndex
        do { index = try StoreIndex.load(folder) } catch {
            result.indexProblem = "\(error)"
            return result
        }
        result.index = index
        for s in index.shards {
            let url = folder.appendingPathComponent(s.file)
            let problem: String?
            if RegularFile.kind(url) == .missing {
                problem = "shard \(s.file) is missing"
            } else {
                do {
                    let sha = try SHA256.hex(fileAt: url)
                    problem =
                        sha == s.sha256
                        ? nil
                        : "shard \(s.file) has SHA-256 \(sha.prefix(12))…; the index records "
                            + "\(s.sha256.prefix(12))…"
                } catch { problem = "shard \(s.file): \(error)" }
            }
            result.shards.append(.init(name: s.file, problem: problem))
        }
        for (key, source) in expected {
            var problem: String?
            if let e = index.entries[key] {
                if let found = e.sourceSHA256, found != source {
                    problem =
                        "'\(key)' was computed from \(sourceName) \(found.prefix(12))…; "
                        + "the dataset's is \(source.prefix(12))…"
                }
            } else {
                problem = "no entry '\(key)'"
            }
            result.entries.append(.init(name: key, problem: problem))
        }
        return result
    }
}
