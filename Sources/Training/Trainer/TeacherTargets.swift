import DatasetFormat
import Foundation
import TensorStore

/// A dataset's teacher cache (`DATASET/teachers/<fingerprint>/`, written by `tkd teacher cache`) opened for
/// training: the rollout vectors become a_T (resampled to the student's T′) and the logits feed the
/// optional Hinton term. Checked before the first step: the cache belongs to these manifests, is complete, its
/// shards have the SHA-256 the index records, and every example has a usable rollout (and, when logits are
/// distilled, logits of one length) computed from the same audio.
public final class TeacherTargets: @unchecked Sendable {
    public let folder: URL
    public let fingerprint: String
    let info: TeacherCacheInfo
    let reader: ShardedStoreReader
    /// Dataset class index for each teacher class (nil when the label sets cannot be matched, or logits are not
    /// used).
    let classMap: [Int]?

    /// Opens the cache `fingerprint` names (`DatasetLayout.teacherCache(matching:)`: nil or empty asks for the
    /// dataset's only cache; a prefix will do). `logits`: the run distils the teacher's logits too.
    public init(data: TrainingData, fingerprint: String?, logits: Bool = false) throws {
        let layout = DatasetLayout(data.dataset)
        do { folder = try layout.teacherCache(matching: fingerprint) } catch let e as DatasetFormatError {
            throw TrainingError.teacherCache(path: e.path, reason: e.reason)
        }
        let infoURL = folder.appendingPathComponent(TeacherCacheInfo.fileName)
        let info: TeacherCacheInfo
        do { info = try TeacherCacheInfo.load(folder) } catch let e as DatasetFormatError {
            throw TrainingError.teacherCache(path: infoURL.path, reason: "cache description \(e.reason)")
        }
        self.info = info
        self.fingerprint = info.fingerprint
        guard info.manifestsSHA256 == data.manifestsSHA256 else {
            throw TrainingError.teacherCache(
                path: infoURL.path,
                reason: "stale cache: made for manifests "
                    + "\(info.manifestsSHA256.prefix(12))…, the dataset's are \(data.manifestsSHA256.prefix(12))…; "
                    + "rerun `tkd teacher cache`"
            )
        }
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(StoreIndex.fileName).path) else {
            throw TrainingError.teacherCache(
                path: folder.path,
                reason: "incomplete cache (no index.json): some shards are missing; "
                    + "rerun `tkd teacher cache`")
        }
        reader = try ShardedStoreReader(folder)
        // Every shard's bytes against the index before any of them feeds a model.
        try reader.checkShards()
        let indexPath = folder.appendingPathComponent(StoreIndex.fileName).path
        var logitCount: Int?
        for (id, record) in data.records.sorted(by: { $0.key < $1.key }) {
            let key = TeacherCacheInfo.rolloutKey(id)
            guard let entry = reader.index.entries[key] else {
                throw TrainingError.teacherCache(path: indexPath, reason: "no rollout for example '\(id)'")
            }
            if let sha = entry.sourceSHA256, sha != record.audioSHA256 {
                throw TrainingError.audioChanged(path: indexPath, id: id, store: sha, manifest: record.audioSHA256)
            }
            // Once here, so that every step can read the vectors as they are.
            if let problem = TeacherCacheInfo.rolloutProblem(try reader.tensor(key).values) {
                throw TrainingError.teacherCache(
                    path: folder.path, reason: "the rollout of '\(id)' \(problem); rebuild the cache")
            }
            guard logits else { continue }
            guard let z = reader.index.entries[TeacherCacheInfo.logitsKey(id)] else {
                throw TrainingError.teacherCache(
                    path: indexPath, reason: "no logits for '\(id)' (the teacher has no classification head)")
            }
            guard z.shape.count == 1, z.shape[0] >= 1, logitCount == nil || logitCount == z.shape[0] else {
                throw TrainingError.teacherCache(
                    path: indexPath,
                    reason: "the logits of '\(id)' have shape \(z.shape); expected [\(logitCount ?? 0)] like the others"
                )
            }
            logitCount = z.shape[0]
        }
        if logits {
            guard
                let map = TeacherCacheInfo.classMap(
                    teacherLabels: info.teacherLabels, datasetLabels: data.labels, logits: logitCount)
            else {
                throw TrainingError.teacherCache(
                    path: folder.path,
                    reason: "the teacher's labels do not match the dataset's, so its logits cannot be distilled")
            }
            classMap = map
        } else {
            classMap = nil
        }
    }

    /// a_T for one example over the student's `steps` context steps. `shift` is the features' time shift in
    /// samples (only with `.centers`, where the student's centres move by it).
    public func target(
        _ id: String, steps: Int, mode: AttentionResampling, studentCentres: [Double], shift: Int
    ) throws -> [Float] {
        let v = try reader.tensor(TeacherCacheInfo.rolloutKey(id)).values
        switch mode {
        case .index:
            return AttentionTargets.resample(v, to: steps, mode: .index)
        case .centers:
            return AttentionTargets.resample(
                v, to: steps, mode: .centers, sourceTimes: info.frameCentres(v.count),
                targetTimes: studentCentres.map { $0 - Double(shift) })
        }
    }

    /// The teacher's logits for one example in the dataset's class order (opened with `logits: true`).
    public func logits(_ id: String, classes: Int) throws -> [Float] {
        guard let map = classMap else { preconditionFailure("TeacherTargets opened without logits") }
        let z = try reader.tensor(TeacherCacheInfo.logitsKey(id)).values
        var out = [Float](repeating: -1e4, count: classes)
        for (t, d) in map.enumerated() where d >= 0 && t < z.count { out[d] = z[t] }
        return out
    }
}
