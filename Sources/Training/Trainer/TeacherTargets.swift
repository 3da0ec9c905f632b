import DatasetFormat
import Foundation
import TensorStore
import Layers
import TKDCore

/// A dataset's teacher cache (`DATASET/teachers/<fingerprint>/`, written by `tkd teacher cache`) opened for
/// training: the rollout vectors become a_T (resampled to the student's T′) and the logits feed the
/// optional Hinton term. Checked before the first step: the cache belongs to these manifests, is complete,
/// and has an entry computed from the same audio for every example.
public final class TeacherTargets: @unchecked Sendable {
    /// The fields of `cache.json` the trainer needs.
    struct CacheInfo: Decodable {
        let fingerprint: String
        let manifests_sha256: String
        let frame_hop: Int
        let frame_centre_offset: Double
        let teacher_labels: [String]?
    }

    public let folder: URL
    public let fingerprint: String
    let info: CacheInfo
    let reader: ShardedStoreReader
    /// Dataset class index for each teacher class (nil when the label sets cannot be matched).
    let classMap: [Int]?

    /// Finds `teachers/<prefix…>` in the dataset (a unique folder whose name starts with `fingerprint`; an
    /// empty fingerprint asks for the dataset's only cache).
    public init(data: TrainingData, fingerprint: String) throws {
        let root = data.dataset.appendingPathComponent("teachers")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { !$0.hasPrefix(".") }
        let matches = names.filter { $0.hasPrefix(fingerprint) || fingerprint.hasPrefix($0) }
        if fingerprint.isEmpty && matches.count != 1 {
            throw TrainingError.teacherCache(path: root.path, reason: matches.isEmpty ? "no teacher cache in this dataset; make one with `tkd teacher cache --dataset \(data.dataset.path) --teacher DIR`"
                                                 : "kd target 'teacher' needs exactly one cache, found \(matches.count) (\(matches.sorted().joined(separator: ", "))); use teacher:<fingerprint>")
        }
        guard matches.count == 1 else {
            throw TrainingError.teacherCache(path: root.appendingPathComponent(fingerprint).path,
                                             reason: matches.isEmpty ? "no teacher cache with fingerprint \(fingerprint) in this dataset; make it with `tkd teacher cache --dataset \(data.dataset.path) --teacher DIR`"
                                                 : "fingerprint \(fingerprint) matches \(matches.count) caches (\(matches.sorted().joined(separator: ", "))); give more digits")
        }
        folder = root.appendingPathComponent(matches[0])
        let infoURL = folder.appendingPathComponent("cache.json")
        guard let raw = FileManager.default.contents(atPath: infoURL.path), let info = try? JSONDecoder().decode(CacheInfo.self, from: raw) else {
            throw TrainingError.teacherCache(path: infoURL.path, reason: "missing or unreadable cache description")
        }
        self.info = info
        self.fingerprint = info.fingerprint
        guard info.manifests_sha256 == data.manifestsSHA256 else {
            throw TrainingError.teacherCache(path: infoURL.path, reason: "stale cache: made for manifests \(info.manifests_sha256.prefix(12))…, the dataset's are \(data.manifestsSHA256.prefix(12))…; rerun `tkd teacher cache`")
        }
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(StoreIndex.fileName).path) else {
            throw TrainingError.teacherCache(path: folder.path, reason: "incomplete cache (no index.json): some shards are missing; rerun `tkd teacher cache`")
        }
        reader = try ShardedStoreReader(folder)
        let indexPath = folder.appendingPathComponent(StoreIndex.fileName).path
        for (id, record) in data.records {
            guard let entry = reader.index.entries["rollout/\(id)"] else {
                throw TrainingError.teacherCache(path: indexPath, reason: "no rollout for example '\(id)'")
            }
            if let sha = entry.sourceSHA256, sha != record.audioSHA256 {
                throw TrainingError.audioChanged(path: indexPath, id: id, store: sha, manifest: record.audioSHA256)
            }
        }
        classMap = Self.classMap(teacherLabels: info.teacher_labels, datasetLabels: data.labels, logits: nil)
    }

    /// The dataset class of each teacher class: by name when the teacher's names cover the dataset's labels,
    /// else by position when the counts agree (names or, without names, the logits' length); nil otherwise.
    public static func classMap(teacherLabels: [String]?, datasetLabels: [String], logits: Int?) -> [Int]? {
        guard let names = teacherLabels else {
            return logits == datasetLabels.count ? Array(0..<datasetLabels.count) : nil
        }
        let byName = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        if datasetLabels.allSatisfy({ byName[$0] != nil }) {
            var map = [Int](repeating: -1, count: names.count)
            for (d, name) in datasetLabels.enumerated() { map[byName[name]!] = d }
            return map
        }
        return names.count == datasetLabels.count ? Array(0..<names.count) : nil
    }

    /// a_T for one example over the student's `steps` context steps. `shift` is the features' time shift in
    /// samples (only with `.centers`, where the student's centres move by it).
    public func target(_ id: String, steps: Int, mode: AttentionResampling, studentCentres: [Double], shift: Int) throws -> [Float] {
        let v = try reader.tensor("rollout/\(id)").values
        switch mode {
        case .index:
            return AttentionTargets.resample(v, to: steps, mode: .index)
        case .centers:
            let source = (0..<v.count).map { Double(info.frame_hop * $0) + info.frame_centre_offset }
            return AttentionTargets.resample(v, to: steps, mode: .centers, sourceTimes: source,
                                             targetTimes: studentCentres.map { $0 - Double(shift) })
        }
    }

    /// The teacher's logits for one example in the dataset's class order.
    public func logits(_ id: String, classes: Int) throws -> [Float] {
        guard reader.index.entries["logits/\(id)"] != nil else {
            throw TrainingError.teacherCache(path: folder.path, reason: "no logits for '\(id)' (the teacher has no classification head)")
        }
        let z = try reader.tensor("logits/\(id)").values
        let unnamed = info.teacher_labels == nil
            ? Self.classMap(teacherLabels: nil, datasetLabels: Array(repeating: "", count: classes), logits: z.count) : nil
        guard let map = classMap ?? unnamed else {
            throw TrainingError.teacherCache(path: folder.path, reason: "the teacher's labels do not match the dataset's, so its logits cannot be distilled")
        }
        var out = [Float](repeating: -1e4, count: classes)
        for (t, d) in map.enumerated() where d >= 0 && t < z.count { out[d] = z[t] }
        return out
    }
}
