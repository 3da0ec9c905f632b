import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// One readable clip of an FSD50K corpus.
public struct FSD50KClipInfo: Sendable, Codable, Equatable {
    /// Path relative to the corpus root, e.g. `FSD50K.dev_audio/64760.wav`.
    public let path: String
    public let subset: FSD50KGroundTruth.Subset
    /// Class indices into the vocabulary.
    public let classes: [Int]
    public let frames: Int
    public let sampleRate: Int

    enum CodingKeys: String, CodingKey {
        case path, subset, classes, frames
        case sampleRate = "sample_rate"
    }
}

/// The result of scanning an FSD50K corpus (`tkd corpus index` on a folder holding `FSD50K.ground_truth/`).
public struct FSD50KIndex: Sendable, Codable, Equatable {
    public let root: String
    public let sampleRate: Int
    public let vocabulary: [FSD50KGroundTruth.ClassInfo]
    /// Readable clips within the expected format, sorted by path (problem files are left out).
    public let clips: [FSD50KClipInfo]
    public let problems: [CorpusProblem]

    enum CodingKeys: String, CodingKey {
        case root, vocabulary, clips, problems
        case sampleRate = "sample_rate"
    }

    /// Clip counts per class (vocabulary order) and subset.
    public func counts() -> [[FSD50KGroundTruth.Subset: Int]] {
        var out = [[FSD50KGroundTruth.Subset: Int]](repeating: [:], count: vocabulary.count)
        for clip in clips {
            for c in clip.classes { out[c][clip.subset, default: 0] += 1 }
        }
        return out
    }

    public var totalSeconds: Double { clips.reduce(0) { $0 + Double($1.frames) / Double($1.sampleRate) } }
}

/// Scans a folder in the official FSD50K layout:
///
/// ```
/// CORPUS/FSD50K.ground_truth/{vocabulary,dev,eval}.csv
/// CORPUS/FSD50K.dev_audio/<fname>.wav       train and val clips
/// CORPUS/FSD50K.eval_audio/<fname>.wav      eval clips
/// ```
///
/// Clips are expected mono at `sampleRate` (44.1 kHz) and 0.3-30 s long. A malformed CSV is an error (the
/// ground truth is the corpus); a listed clip that is absent, unreadable or out of format, and an audio file no
/// CSV lists, are problems: reported, not fatal.
public struct FSD50KScanner: Sendable {
    public var sampleRate = 44100
    public var minClipSeconds = 0.3
    public var maxClipSeconds = 30.0
    public var jobs = 1
    public var progress: ProgressMode = .quiet

    public init() {}

    /// Whether `root` looks like an FSD50K corpus (it holds the ground-truth folder).
    public static func isFSD50K(_ root: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(
            atPath: root.appendingPathComponent(FSD50KGroundTruth.folder).path, isDirectory: &isDir) && isDir.boolValue
    }

    public func scan(_ root: URL) throws -> FSD50KIndex {
        let gt = try FSD50KGroundTruth.load(root: root)
        let fm = FileManager.default
        var problems: [CorpusProblem] = []
        // Audio files on disk that no CSV lists.
        let listed = Set(gt.clips.map(FSD50KGroundTruth.audioPath))
        for folder in Set(FSD50KGroundTruth.Subset.allCases.map(FSD50KGroundTruth.audioFolder)).sorted() {
            let names = (try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") && !listed.contains("\(folder)/\(name)") {
                problems.append(
                    CorpusProblem(
                        path: "\(folder)/\(name)", kind: .unexpectedName,
                        detail: "not listed in \(FSD50KGroundTruth.folder)/dev.csv or eval.csv"))
            }
        }
        let reporter = ProgressReporter(label: "headers", total: gt.clips.count, mode: progress)
        let rate = sampleRate
        let minFrames = Int((minClipSeconds * Double(rate)).rounded(.down))
        let maxFrames = Int((maxClipSeconds * Double(rate)).rounded(.up))
        let clips = gt.clips
        let results: [(FSD50KClipInfo?, CorpusProblem?)] = try WorkPool(jobs: jobs).map(clips.count) { i in
            defer { reporter.advance() }
            let clip = clips[i]
            let path = FSD50KGroundTruth.audioPath(clip)
            let url = root.appendingPathComponent(path)
            guard FileManager.default.fileExists(atPath: url.path) else {
                return (nil, CorpusProblem(path: path, kind: .missingListedFile, detail: "listed but absent"))
            }
            switch CorpusProblem.checkHeader(url, path: path, rate: rate, frames: minFrames...maxFrames) {
            case .failure(let problem):
                return (nil, problem)
            case .success(let info):
                return (
                    FSD50KClipInfo(
                        path: path, subset: clip.subset, classes: clip.classes, frames: info.frames,
                        sampleRate: info.sampleRate), nil
                )
            }
        }
        reporter.finish()
        problems += results.compactMap(\.1)
        problems.sort { ($0.path, $0.kind.rawValue) < ($1.path, $1.kind.rawValue) }
        return FSD50KIndex(
            root: root.path, sampleRate: rate, vocabulary: gt.vocabulary,
            clips: results.compactMap(\.0).sorted { $0.path < $1.path }, problems: problems)
    }
}
