import DatasetFormat
import Features
import Foundation
import TensorStore

extension DatasetVerifier {
    // MARK: Stores

    /// The store's own check (`ShardedStoreReader.verify`): shard files against the index's SHA-256, and an
    /// entry computed from the manifest's audio for every example.
    func checkStore(
        _ folder: URL, kind: String, keys: [(key: String, record: ExampleRecord)], manifestsSHA: String?,
        recorded: String?, _ ledger: Ledger
    ) -> StoreVerification? {
        let check = "\(kind).\(folder.lastPathComponent)"
        if let recorded, let manifestsSHA {
            ledger.expect(
                recorded == manifestsSHA, "\(check).fingerprint", path: folder.path,
                "made for manifests \(recorded.prefix(12))…; the dataset's are \(manifestsSHA.prefix(12))… (stale)")
        }
        let result = ShardedStoreReader.verify(
            folder, expected: keys.map { ($0.key, $0.record.audioSHA256) }, sourceName: "audio")
        if let problem = result.indexProblem {
            ledger.fail("\(check).index", path: folder.appendingPathComponent(StoreIndex.fileName).path, problem)
            return nil
        }
        for s in result.shards {
            ledger.expect(
                s.problem == nil, "\(check).shards", path: folder.appendingPathComponent(s.name).path, s.problem ?? "")
        }
        for (finding, key) in zip(result.entries, keys) {
            ledger.expect(
                finding.problem == nil, "\(check).entries", id: key.record.id, path: folder.path, finding.problem ?? "")
        }
        // Intact shards are also parsed: every entry's tensor must be in its shard with the shape the index
        // records (what a forged shard with a matching index would fail when it feeds a model).
        guard result.intact else { return result }
        do {
            let reader = try ShardedStoreReader(folder)
            for (finding, key) in zip(result.entries, keys) where finding.problem == nil {
                do {
                    try reader.checkEntry(key.key)
                    ledger.pass("\(check).tensors")
                } catch {
                    ledger.fail("\(check).tensors", id: key.record.id, path: folder.path, "\(error)")
                }
            }
        } catch {
            ledger.fail("\(check).tensors", path: folder.path, "\(error)")
        }
        return result
    }

    func stores(_ records: [ExampleRecord], manifestsSHA: String?, _ ledger: Ledger) throws {
        for folder in DatasetLayout(dataset).featureStores {
            let config: FeatureStoreConfig
            do { config = try FeatureStoreConfig.load(folder) } catch {
                ledger.fail(
                    "features.\(folder.lastPathComponent).config",
                    path: folder.appendingPathComponent(FeatureStoreConfig.fileName).path,
                    "feature store config \((error as? DatasetFormatError)?.reason ?? "\(error)")")
                continue
            }
            guard
                let result = checkStore(
                    folder, kind: "features", keys: records.map { ($0.id, $0) },
                    manifestsSHA: manifestsSHA, recorded: config.manifestsSHA256, ledger),
                let index = result.index
            else { continue }
            frames(index, config, records, folder, ledger)
        }
    }

    /// Every entry's frame count against what the store's front end gives for the example's length.
    func frames(
        _ index: StoreIndex, _ config: FeatureStoreConfig, _ records: [ExampleRecord], _ folder: URL, _ ledger: Ledger
    ) {
        for r in records {
            guard let e = index.entries[r.id] else { continue }
            let frames = config.frontEnd.frameCount(samples: r.numSamples)
            ledger.expect(
                e.shape.first == frames, "features.\(folder.lastPathComponent).frames", id: r.id, path: folder.path,
                "\(e.shape.first ?? 0) frames; preset \(config.preset) gives \(frames) for \(r.numSamples) samples")
        }
    }

    func teacherCaches(_ records: [ExampleRecord], manifestsSHA: String?, _ ledger: Ledger) throws -> [String: String] {
        var summaries: [String: String] = [:]
        for folder in DatasetLayout(dataset).teacherCaches {
            let check = "teachers.\(folder.lastPathComponent)"
            let info: TeacherCacheInfo
            do { info = try TeacherCacheInfo.load(folder) } catch {
                ledger.fail(
                    "\(check).config", path: folder.appendingPathComponent(TeacherCacheInfo.fileName).path,
                    "cache.json \((error as? DatasetFormatError)?.reason ?? "\(error)")")
                continue
            }
            ledger.expect(
                info.fingerprint.hasPrefix(folder.lastPathComponent), "\(check).fingerprint",
                path: folder.appendingPathComponent(TeacherCacheInfo.fileName).path,
                "the folder name is not the prefix of the fingerprint \(info.fingerprint.prefix(16))")
            guard
                let result = checkStore(
                    folder, kind: "teachers", keys: records.map { (TeacherCacheInfo.rolloutKey($0.id), $0) },
                    manifestsSHA: manifestsSHA, recorded: info.manifestsSHA256, ledger),
                result.intact
            else { continue }
            let reader: ShardedStoreReader
            do { reader = try ShardedStoreReader(folder) } catch {
                ledger.fail("\(check).rollout", path: folder.path, "\(error)")
                continue
            }
            var localisation = RolloutLocalisation()
            for r in records {
                let key = TeacherCacheInfo.rolloutKey(r.id)
                guard reader.index.entries[key] != nil else { continue }  // an .entries failure already
                let v: [Float]
                do { v = try reader.tensor(key).values } catch {
                    ledger.fail("\(check).rollout", id: r.id, path: folder.path, "\(error)")
                    continue
                }
                let t = v.count
                let range = TeacherCacheInfo.plausibleFrames(
                    numSamples: r.numSamples, frameHop: info.frameHop, frameCentreOffset: info.frameCentreOffset)
                ledger.expect(
                    range.contains(t), "\(check).frames", id: r.id, path: folder.path,
                    "\(t) rollout frames; \(r.numSamples) samples at hop \(info.frameHop) give "
                        + "\(range.lowerBound)…\(range.upperBound)")
                let problem = TeacherCacheInfo.rolloutProblem(v)
                ledger.expect(
                    problem == nil, "\(check).rollout", id: r.id, path: folder.path, "the rollout \(problem ?? "")")
                guard let k = r.keyword, problem == nil else { continue }
                localisation.add(
                    v, centres: info.frameCentres(t), speechOnset: k.speechOnsetSample,
                    speechOffset: k.speechOffsetSample)
            }
            if localisation.examples > 0 {
                summaries[info.fingerprint] = String(
                    format:
                        "%.1f %% of the rollout mass inside the speech span (uniform %.1f %%), peak inside it in "
                        + "%.1f %% of %d keyword examples",
                    100 * localisation.massInSpeech, 100 * localisation.spanShare, 100 * localisation.peakInSpeech,
                    localisation.examples)
            }
        }
        return summaries
    }
}
