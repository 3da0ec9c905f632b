import AudioIO
import DatasetFormat
import Foundation
import TKDCore

/// Scans a folder in the official Speech Commands layout (v1 or v2):
///
/// ```
/// CORPUS/<word>/<speaker>_nohash_<n>.wav      one-second keyword clips, 16 kHz mono
/// CORPUS/_background_noise_/*.wav             long noise recordings
/// CORPUS/validation_list.txt, testing_list.txt  the official splits (optional)
/// ```
public struct CorpusScanner: Sendable {
    /// The rate every clip should have.
    public var sampleRate = 16000
    /// Clips longer than this are reported (`too_long`).
    public var maxClipSeconds = 1.0
    /// Threads for reading headers.
    public var jobs = 1
    /// Rule used when the list files are absent, and to cross-check them.
    public var rule = SplitRule.official
    public var progress: ProgressMode = .quiet
    /// Use the hash rule even when list files exist.
    public var ignoreListFiles = false

    public static let noiseFolder = SpeechCommands.noiseFolder
    public static let validationList = "validation_list.txt"
    public static let testingList = "testing_list.txt"

    public init() {}

    /// Scans `root`.
    /// - Throws: `SynthesisError.corpusMissing` when the folder does not exist, `.notACorpus` when it
    ///   has no word folders. Problems with individual files are returned, not thrown.
    public func scan(_ root: URL) throws -> CorpusIndex {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root.path, isDirectory: &isDir), isDir.boolValue else {
            throw SynthesisError.corpusMissing(path: root.path)
        }
        let top = try listing(root)
        var problems: [CorpusProblem] = []
        var words: [String] = []
        var candidates: [(path: String, word: String, speaker: String, n: Int)] = []
        for name in top {
            let url = root.appendingPathComponent(name)
            let isFolder = (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
            if !isFolder { continue }
            if name == Self.noiseFolder { continue }
            if name.hasPrefix("_") || name.hasPrefix(".") {
                problems.append(
                    CorpusProblem(
                        path: name, kind: .unexpectedName,
                        detail: "folder is neither a word nor \(Self.noiseFolder)"))
                continue
            }
            words.append(name)
            for file in try listing(url) {
                let rel = "\(name)/\(file)"
                if let (speaker, n) = Self.parseClipName(file) {
                    candidates.append((rel, name, speaker, n))
                } else {
                    problems.append(
                        CorpusProblem(
                            path: rel, kind: .unexpectedName,
                            detail: "expected <8 hex digits>_nohash_<n>.wav"))
                }
            }
        }
        guard !words.isEmpty else {
            throw SynthesisError.notACorpus(path: root.path, reason: "no word folders found")
        }

        // Splits: list files when both exist, else the rule.
        let valURL = root.appendingPathComponent(Self.validationList)
        let testURL = root.appendingPathComponent(Self.testingList)
        let hasLists = !ignoreListFiles && fm.fileExists(atPath: valURL.path) && fm.fileExists(atPath: testURL.path)
        var listed: [String: Split] = [:]
        if hasLists {
            for (url, split) in [(valURL, Split.validation), (testURL, Split.testing)] {
                for line in try Self.readList(url) { listed[line] = split }
            }
        }
        let present = Set(candidates.map(\.path))
        if hasLists {
            let missing = listed.keys.filter { !present.contains($0) }.sorted()
            if let first = missing.first {
                problems.append(
                    CorpusProblem(
                        path: first, kind: .missingListedFile,
                        detail: "\(missing.count) file(s) named in the list files are absent, e.g. \(first)"))
            }
            var disagreements: [String] = []
            for (path, split) in listed where present.contains(path) && rule.split(of: path) != split {
                disagreements.append(path)
            }
            disagreements.sort()
            if let first = disagreements.first {
                problems.append(
                    CorpusProblem(
                        path: first, kind: .listDisagreesWithRule,
                        detail:
                            "\(disagreements.count) listed file(s) are in another split than the official hash rule "
                            + "gives, e.g. \(first) (listed \(listed[first]!.rawValue), rule "
                            + "\(rule.split(of: first).rawValue))"
                    ))
            }
        }

        // Headers, in parallel.
        let reporter = ProgressReporter(label: "headers", total: candidates.count, mode: progress)
        let expectedRate = sampleRate
        let maxFrames = Int((maxClipSeconds * Double(sampleRate)).rounded())
        let items = candidates
        let listedSplits = listed
        let rule = self.rule
        let results: [(Utterance?, CorpusProblem?)] = try WorkPool(jobs: jobs).map(items.count) { i in
            defer { reporter.advance() }
            let c = items[i]
            let split = hasLists ? (listedSplits[c.path] ?? .training) : rule.split(of: c.path)
            switch CorpusProblem.checkHeader(
                root.appendingPathComponent(c.path), path: c.path, rate: expectedRate, frames: 1...maxFrames)
            {
            case .failure(let problem):
                return (nil, problem)
            case .success(let info):
                return (
                    Utterance(
                        path: c.path, word: c.word, speaker: c.speaker, utteranceIndex: c.n,
                        split: split, frames: info.frames, sampleRate: info.sampleRate), nil
                )
            }
        }
        reporter.finish()
        let utterances = results.compactMap(\.0)
        problems += results.compactMap(\.1)

        let noise = try scanNoise(root.appendingPathComponent(Self.noiseFolder), relativeTo: root, problems: &problems)
        let version: CorpusVersion = words.contains(where: SpeechCommands.v2OnlyWords.contains) ? .v2 : .v1
        problems.sort { ($0.path, $0.kind.rawValue) < ($1.path, $1.kind.rawValue) }
        return CorpusIndex(
            root: root.path, version: version, splitSource: hasLists ? .listFiles : .hashRule,
            sampleRate: sampleRate, words: words.sorted(), utterances: utterances,
            noise: noise, problems: problems)
    }

    /// Headers of the noise files in `folder` (absent folder: no noise, no problem).
    func scanNoise(_ folder: URL, relativeTo root: URL, problems: inout [CorpusProblem]) throws -> [NoiseFileInfo] {
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        var out: [NoiseFileInfo] = []
        for name in try listing(folder) {
            let rel = "\(folder.lastPathComponent)/\(name)"
            if name.hasPrefix(".") || name.lowercased().hasSuffix(".md") || name.lowercased().hasSuffix(".txt") {
                continue
            }
            do {
                let info = try AudioReader.info(folder.appendingPathComponent(name))
                if info.sampleRate != sampleRate {
                    problems.append(
                        CorpusProblem(
                            path: rel, kind: .wrongSampleRate,
                            detail: "\(info.sampleRate) Hz; expected \(sampleRate) Hz (it will be resampled when used)")
                    )
                }
                out.append(
                    NoiseFileInfo(
                        path: rel, frames: info.frames, sampleRate: info.sampleRate,
                        channels: info.channels))
            } catch AudioError.empty {
                problems.append(CorpusProblem(path: rel, kind: .empty, detail: "zero frames"))
            } catch {
                problems.append(CorpusProblem(path: rel, kind: .unreadable, detail: "\(error)"))
            }
        }
        return out
    }

    /// Splits `<speaker>_nohash_<n>.wav` into (speaker, n); nil for any other name.
    public static func parseClipName(_ name: String) -> (speaker: String, index: Int)? {
        guard name.hasSuffix(".wav"), let r = name.range(of: "_nohash_") else { return nil }
        let speaker = String(name[..<r.lowerBound])
        let nText = name[r.upperBound..<name.index(name.endIndex, offsetBy: -4)]
        guard speaker.count == 8, speaker.allSatisfy({ $0.isHexDigit && !$0.isUppercase }),
            !nText.isEmpty, nText.allSatisfy(\.isASCII), nText.allSatisfy(\.isNumber),
            let n = Int(nText)
        else { return nil }
        return (speaker, n)
    }

    /// The non-empty lines of a list file.
    public static func readList(_ url: URL) throws -> [String] {
        guard let data = try RegularFile.contents(url), let text = String(data: data, encoding: .utf8) else {
            throw CoreError.io(path: url.path, reason: "cannot read list file as UTF-8 text")
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    private func listing(_ url: URL) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: url.path)
                .filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw CoreError.io(path: url.path, reason: "cannot list folder: \(error.localizedDescription)")
        }
    }
}
