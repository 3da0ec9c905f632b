import Foundation
import TKDCore

/// The fingerprint of a generated dataset's manifests: SHA-256 of `manifests/{training,validation,testing}.jsonl`
/// concatenated in that order. Feature stores, teacher caches and checkpoints record it, and every reader
/// compares it to detect a store made for another version of the dataset.
public enum ManifestFingerprint {
    public static func sha256(dataset: URL) throws -> String {
        let layout = DatasetLayout(dataset)
        var hash = SHA256()
        for split in Split.allCases {
            let url = layout.manifest(split)
            guard let data = try RegularFile.contents(url) else {
                throw DatasetFormatError.missing(path: url.path, expected: DatasetInfo.madeBy)
            }
            hash.update(data)
        }
        return hash.finalizeHex()
    }
}

extension ExampleRecord {
    /// Every record of a dataset folder in the canonical order: training, validation, testing, each sorted
    /// by id (the order the manifests are written in, and that stores assign to shards).
    /// Every record is validated (`ExampleRecord.problems`) before any stage reads samples by it.
    /// - Throws: `DatasetFormatError.missing` naming a missing manifest, `CoreError.malformedJSON` naming the
    ///   file and line of a record that does not decode, `DatasetFormatError.invalidRecord` naming the file,
    ///   the id and the field of one that is unusable.
    public static func loadAll(dataset: URL) throws -> [ExampleRecord] {
        let layout = DatasetLayout(dataset)
        if DatasetInfo.isStreamDataset(dataset) {
            throw DatasetFormatError.invalidField(
                path: layout.info.path, field: "stream_recipe",
                detail: "is set: \(dataset.path) is a stream dataset (long recordings); expected a dataset of clips "
                    + "(stream datasets are for detection and are read by the stream evaluation)")
        }
        var out: [ExampleRecord] = []
        for split in Split.allCases {
            let url = layout.manifest(split)
            guard let data = try RegularFile.contents(url) else {
                throw DatasetFormatError.missing(path: url.path, expected: DatasetInfo.madeBy)
            }
            let records = try CanonicalJSON.decodeLines(ExampleRecord.self, from: data, path: url.path)
            for r in records { try r.validate(manifest: url.path) }
            out += records.sorted { $0.id < $1.id }
        }
        return out
    }
}

extension DatasetInfo: DescriptionFile {
    public static let madeBy = "a dataset made by tkd generate"

    /// Loads `DIR/dataset.json`.
    /// - Throws: `DatasetFormatError` naming the file.
    public static func load(_ dataset: URL) throws -> DatasetInfo {
        let layout = DatasetLayout(dataset)
        if !FileManager.default.fileExists(atPath: layout.info.path), case let variants = layout.variants,
            !variants.isEmpty
        {
            throw DatasetFormatError.missing(
                path: layout.info.path,
                expected: "a dataset made by tkd generate; \(dataset.path) is a tkd generate output holding the "
                    + "variants \(variants.joined(separator: ", ")): pass one of them, e.g. "
                    + "\(dataset.appendingPathComponent(variants[0]).path)")
        }
        let info = try read(layout.info)
        try info.validate(path: layout.info.path)
        return info
    }

    /// Whether `DIR/dataset.json` has a `stream_recipe` (a stream dataset), read alone.
    public static func isStreamDataset(_ dataset: URL) -> Bool {
        struct Probe: Decodable {
            let value: Bool
            init(from decoder: Decoder) throws {
                value = try decoder.container(keyedBy: DatasetInfo.CodingKeys.self).contains(.streamRecipe)
            }
        }
        guard let data = try? RegularFile.contents(DatasetLayout(dataset).info) else { return false }
        return (try? JSONDecoder().decode(Probe.self, from: data))?.value ?? false
    }

    /// `audio_rendered` of `DIR/dataset.json` alone (false after `tkd generate --plan-only` until `tkd render`),
    /// or nil when the file is missing or lacks the key.
    public static func audioRendered(_ dataset: URL) -> Bool? {
        struct Probe: Decodable {
            let value: Bool
            init(from decoder: Decoder) throws {
                value = try decoder.container(keyedBy: DatasetInfo.CodingKeys.self).decode(
                    Bool.self, forKey: .audioRendered)
            }
        }
        guard let data = try? RegularFile.contents(DatasetLayout(dataset).info) else { return nil }
        return (try? JSONDecoder().decode(Probe.self, from: data))?.value
    }

    /// Reads `DIR/manifests/<split>.jsonl` for every split (`ExampleRecord.loadAll`) and checks each record's
    /// `label` and `label_index` against `dataset.json`'s labels, which every stage indexing by class relies on.
    /// - Throws: as `loadAll`, and `DatasetFormatError.invalidRecord` naming the manifest, the id and the field.
    public static func loadManifests(_ dataset: URL) throws -> [ExampleRecord] {
        let info = try load(dataset), labels = info.labels, layout = DatasetLayout(dataset)
        let records = try ExampleRecord.loadAll(dataset: dataset)
        for r in records {
            let path = layout.manifest(r.split).path
            guard info.isMultiLabel == (r.labelIndices != nil) else {
                throw DatasetFormatError.invalidRecord(
                    path: path, id: r.id, field: "labels",
                    detail: info.isMultiLabel
                        ? "is missing; dataset.json says task multi_label, so every example needs its label set"
                        : "is present in a single-label dataset; expected no label set")
            }
            for (name, index) in zip(r.labels ?? [], r.labelIndices ?? [])
            where !labels.indices.contains(index) || labels[index] != name {
                throw DatasetFormatError.invalidRecord(
                    path: path, id: r.id, field: "label_indices",
                    detail: "gives \(index) for label '\(name)'; dataset.json's labels do not name it there")
            }
        }
        for r in records where !labels.indices.contains(r.labelIndex) || labels[r.labelIndex] != r.label {
            let named = labels.indices.contains(r.labelIndex) ? "'\(labels[r.labelIndex])'" : "nothing"
            throw DatasetFormatError.invalidRecord(
                path: layout.manifest(r.split).path, id: r.id, field: "label_index",
                detail: "is \(r.labelIndex) for label '\(r.label)'; dataset.json's labels name \(named) there")
        }
        return records
    }
}
