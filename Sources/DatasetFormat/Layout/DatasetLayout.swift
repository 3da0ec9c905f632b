import Foundation
import TKDCore

/// Where each part of a dataset folder lives (contract; Docs/formats.md, "Dataset folder"):
///
/// ```
/// DATASET/
///   dataset.json              DatasetInfo
///   manifests/<split>.jsonl   ExampleRecord lines
///   audio/<split>/<id>.wav    rendered examples
///   features/<preset>/        a feature store (FeatureStoreConfig + tensor store)
///   teachers/<fingerprint>/   a teacher cache (TeacherCacheInfo + tensor store)
///   .tkd-work/                journals of an unfinished tkd generate
/// ```
///
/// Run folders (`tkd train`) live under a `--runs` folder of the user's choice: `<runs>/<name>/`.
public struct DatasetLayout: Sendable, Equatable {
    public let root: URL

    public init(_ root: URL) { self.root = root }

    /// `dataset.json`.
    public var info: URL { root.appendingPathComponent(DatasetInfo.fileName) }

    /// The variant datasets of a `tkd generate --out` folder (`2s/`, `8s/`, …: subfolders holding a
    /// `dataset.json`), sorted by name; empty for a dataset folder or any other folder.
    public var variants: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter {
            !$0.hasPrefix(".")
                && FileManager.default.fileExists(atPath: DatasetLayout(root.appendingPathComponent($0)).info.path)
        }.sorted()
    }

    /// `manifests/<split>.jsonl`.
    public func manifest(_ split: Split) -> URL { root.appendingPathComponent("manifests/\(split.rawValue).jsonl") }

    /// The dataset-relative path of an example's audio: `audio/<split>/<id>.<ext>`.
    public static func audioPath(split: Split, id: String, format: AudioFormat) -> String {
        "audio/\(split.rawValue)/\(id).\(format.fileExtension)"
    }

    /// The folder of a split's audio.
    public func audioFolder(_ split: Split) -> URL { root.appendingPathComponent("audio/\(split.rawValue)") }

    /// The file a manifest's `audio` field names, checked to stay inside the dataset (`ContainedPath`); with
    /// `existing`, it must be a regular file.
    /// - Throws: `CoreError.invalidValue` naming the example and the path.
    public func audio(_ record: ExampleRecord, existing: Bool = true) throws -> URL {
        try ContainedPath.resolve(
            record.audio, under: root, field: "example '\(record.id)': audio", regularFile: existing)
    }

    /// The file a stream's `audio` field names, checked as above.
    public func audio(_ record: StreamRecord, existing: Bool = true) throws -> URL {
        try ContainedPath.resolve(
            record.audio, under: root, field: "stream '\(record.id)': audio", regularFile: existing)
    }

    /// `features/`.
    public var featuresFolder: URL { root.appendingPathComponent("features") }

    /// `features/<preset>/`.
    public func featureStore(_ preset: String) -> URL { featuresFolder.appendingPathComponent(preset) }

    /// `teachers/`.
    public var teachersFolder: URL { root.appendingPathComponent("teachers") }

    /// Characters of the fingerprint that name a cache folder.
    public static let teacherFolderDigits = 16

    /// `teachers/<first 16 hex digits of the fingerprint>/`.
    public func teacherCache(fingerprint: String) -> URL {
        teachersFolder.appendingPathComponent(String(fingerprint.prefix(Self.teacherFolderDigits)))
    }

    /// `.tkd-work/`: the journals of an unfinished `tkd generate` (removed when the dataset is complete).
    public var workFolder: URL { root.appendingPathComponent(".tkd-work") }

    /// The store folders under `features/` or `teachers/` (hidden names skipped), sorted by name.
    public func subfolders(of folder: URL) -> [URL] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter {
            !$0.hasPrefix(".")
        }
        return names.sorted().map { folder.appendingPathComponent($0) }.filter {
            (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true
        }
    }

    /// Every feature store folder, sorted by preset.
    public var featureStores: [URL] { subfolders(of: featuresFolder) }

    /// Every teacher cache folder, sorted by fingerprint.
    public var teacherCaches: [URL] { subfolders(of: teachersFolder) }

    /// The cache a KD target names: `nil` asks for the dataset's only cache; a fingerprint (a prefix will do)
    /// for the unique cache it starts.
    /// - Throws: `DatasetFormatError.teacherCache` when none or several match.
    public func teacherCache(matching fingerprint: String?) throws -> URL {
        let names = teacherCaches.map(\.lastPathComponent)
        let wanted = fingerprint ?? ""
        let matches = names.filter { $0.hasPrefix(wanted) || (!wanted.isEmpty && wanted.hasPrefix($0)) }
        let make = "make one with `tkd teacher cache --dataset \(root.path) --teacher DIR`"
        guard let fingerprint, !fingerprint.isEmpty else {
            guard matches.count == 1 else {
                throw DatasetFormatError.teacherCache(
                    path: teachersFolder.path,
                    reason: matches.isEmpty
                        ? "no teacher cache in this dataset; \(make)"
                        : "kd target 'teacher' needs exactly one cache, found \(matches.count) "
                            + "(\(matches.joined(separator: ", "))); use teacher:<fingerprint>")
            }
            return teachersFolder.appendingPathComponent(matches[0])
        }
        guard matches.count == 1 else {
            throw DatasetFormatError.teacherCache(
                path: teachersFolder.appendingPathComponent(fingerprint).path,
                reason: matches.isEmpty
                    ? "no teacher cache with fingerprint \(fingerprint) in this dataset; make it with "
                        + "`tkd teacher cache --dataset \(root.path) --teacher DIR`"
                    : "fingerprint \(fingerprint) matches \(matches.count) caches "
                        + "(\(matches.joined(separator: ", "))); "
                        + "give more digits")
        }
        return teachersFolder.appendingPathComponent(matches[0])
    }
}
