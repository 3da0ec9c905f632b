import DatasetFormat
import Foundation
import TensorStore

/// A dataset's teacher cache (`DATASET/teachers/<fingerprint>/`, written by `tkd teacher cache`) opened for
/// training: the rollout vectors become a_T (resampled to the student's T′) and the logits feed the
/// optional Hinton term. Checked before the first step: the cache belongs to these manifests, is complete,
/// and has an entry computed from the same audio for every example.
public final class TeacherTargets: @unchecked Sendable {
    public let folder: URL
    public let fingerprint: String
    let info: TeacherCacheInfo
    let reader: ShardedStoreReader
    /// Dataset class index for each teacher class (nil when the label sets cannot be matched).
    let classMap: [Int]?

    /// Opens the cache `fingerprint` names (`DatasetLayout.teacherCache(matching:)`: nil or empty asks for the
    /// dataset's only cache; a prefix will do).
    public init(data: TrainingData, fingerprint: String?) throws {
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
        for (id, record) in data.records.sorted(by: { $0.key < $1.key }) {
            guard let entry = reader.index.entries[TeacherCacheInfo.rolloutKey(id)] else {
                throw TrainingError.teacherCache(path: indexPath, reason: "no rollout for example '\(id)'")
            }
            guard entry.shape.count == 1, entry.shape[0] >= 1 else {
                throw TrainingError.teacherCache(
                    path: indexPath,
                    reason: "the rollout of '\(id)' has shape \(entry.shape); expected [T] with T ≥ 1")
            }
            if let sha = entry.sourceSHA256, sha != record.audioSHA256 {
                throw TrainingError.audioChanged(path: indexPath, id: id, store: sha, manifest: record.audioSHA256)
            }
        }
        classMap = TeacherCacheInfo.classMap(teacherLabels: info.teacherLabels, datasetLabels: data.labels, logits: nil)
    }

    /// a_T for one example over the student's `steps` context steps. `shift` is the features' time shift in
    /// samples (only with `.centers`, where the student's centres move by it).
    public func target(
        _ id: String, steps: Int, mode: AttentionResampling, studentCentres: [Double], shift: Int
    ) throws -> [Float] {
        let v = try reader.tensor(TeacherCacheInfo.rolloutKey(id)).values
        guard v.allSatisfy({ $0.isFinite && $0 >= 0 }), v.contains(where: { $0 > 0 }) else {
            throw TrainingError.teacherCache(
                path: folder.path,
                reason: "the rollout of '\(id)' holds negative, non-finite or only zero weights; rebuild the cache")
        }
        switch mode {
        case .index:
            return AttentionTargets.resample(v, to: steps, mode: .index)
        case .centers:
            return AttentionTargets.resample(
                v, to: steps, mode: .centers, sourceTimes: info.frameCentres(v.count),
                targetTimes: studentCentres.map { $0 - Double(shift) })
        }
    }

    /// The teacher's logits for one example in the dataset's class order.
    public func logits(_ id: String, classes: Int) throws -> [Float] {
        let key = TeacherCacheInfo.logitsKey(id)
        guard reader.index.entries[key] != nil else {
            throw TrainingError.teacherCache(
                path: folder.path, reason: "no logits for '\(id)' (the teacher has no classification head)")
        }
        let z = try reader.tensor(key).values
        let unnamed =
            info.teacherLabels == nil
            ? TeacherCacheInfo.classMap(
                teacherLabels: nil, datasetLabels: Array(repeating: "", count: classes), logits: z.count) : nil
        guard let map = classMap ?? unnamed else {
            throw TrainingError.teacherCache(
                path: folder.path,
                reason: "the teacher's labels do not match the dataset's, so its logits cannot be distilled")
        }
        var out = [Float](repeating: -1e4, count: classes)
        for (t, d) in map.enumerated() where d >= 0 && t < z.count { out[d] = z[t] }
        return out
    }
}
