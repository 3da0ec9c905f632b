import ArgumentParser
import DatasetFormat
import Foundation
import Synthesis
import TKDCore

/// `tkd corpus index CORPUS [--json]`
struct CorpusIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Scan a Speech Commands or FSD50K corpus: counts per word or class and split, problems.",
        discussion: """
            Splits come from validation_list.txt / testing_list.txt when both exist, else from the official hash rule. \
            Problems (unreadable files, wrong sample rate or channel count, empty or longer than one second, \
            unexpected names, list files naming absent files) are reported with their paths; they make the command \
            fail only with --strict. A folder holding FSD50K.ground_truth/ is read as FSD50K: the official \
            vocabulary.csv, dev.csv and eval.csv (a malformed row is an error), clips in FSD50K.dev_audio/ and \
            FSD50K.eval_audio/ expected mono at 44.1 kHz and 0.3-30 s long.
            """)

    @Argument(help: "The corpus folder (holding yes/, no/, …, _background_noise_/, or FSD50K.ground_truth/).")
    var corpus: String

    @Flag(help: "Print the whole index (every utterance, noise file and problem) as one JSON object.")
    var json = false

    @Flag(help: "Exit non-zero when any problem is found.")
    var strict = false

    @Option(help: "Expected sample rate of the clips, in Hz (default 16000; FSD50K 44100).")
    var sampleRate: Int?

    @OptionGroup var runOptions: RunOptions

    func run() throws {
        let root = URL(fileURLWithPath: corpus)
        if FSD50KScanner.isFSD50K(root) { return try runFSD50K(root) }
        var scanner = CorpusScanner()
        scanner.sampleRate = sampleRate ?? 16000
        scanner.jobs = runOptions.jobs
        scanner.progress = runOptions.progressMode
        let index = try scanner.scan(root)
        try emit(index, table: CorpusIndexTable.render(index), problems: index.problems)
    }

    func runFSD50K(_ root: URL) throws {
        var scanner = FSD50KScanner()
        if let sampleRate { scanner.sampleRate = sampleRate }
        scanner.jobs = runOptions.jobs
        scanner.progress = runOptions.progressMode
        let index = try scanner.scan(root)
        try emit(index, table: CorpusIndexTable.render(index), problems: index.problems)
    }

    /// Prints the index (JSON with --json, else the table); with --strict, fails on the first problem.
    func emit(_ index: some Encodable, table: String, problems: [CorpusProblem]) throws {
        if json {
            FileHandle.standardOutput.write(try CanonicalJSON.encodePretty(index))
        } else {
            say(table)
        }
        if strict, let first = problems.first {
            throw SynthesisError.corpusProblems(
                path: corpus, count: problems.count, first: "\(first.path): \(first.kind.rawValue): \(first.detail)")
        }
    }
}

/// The human-readable form of a corpus index.
enum CorpusIndexTable {
    static func render(_ index: CorpusIndex, maxProblems: Int = 20) -> String {
        let counts = index.counts()
        let splits = Split.allCases
        var rows: [[String]] = [["word"] + splits.map(\.rawValue) + ["total"]]
        var totals = [Split: Int]()
        for word in index.words {
            let c = counts[word] ?? [:]
            for s in splits { totals[s, default: 0] += c[s] ?? 0 }
            rows.append([word] + splits.map { String(c[$0] ?? 0) } + [String(c.values.reduce(0, +))])
        }
        rows.append(["(all)"] + splits.map { String(totals[$0] ?? 0) } + [String(totals.values.reduce(0, +))])
        let speakers = index.speakers()
        rows.append(
            ["speakers"] + splits.map { String(speakers[$0]?.count ?? 0) }
                + [String(Set(index.utterances.map(\.speaker)).count)])
        var out =
            "corpus \(index.root)\nversion \(index.version.rawValue), splits from \(index.splitSource.rawValue), "
            + "\(index.words.count) words, \(index.utterances.count) clips, "
            + String(format: "%.1f", index.totalSeconds / 3600) + " h at \(index.sampleRate) Hz\n\n"
        out += table(rows)
        out += "\nnoise files (\(index.noise.count)):\n"
        if index.noise.isEmpty { out += "  (none)\n" }
        for n in index.noise {
            out +=
                "  \(n.path)  " + String(format: "%.1f s", n.durationSeconds)
                + "  \(n.sampleRate) Hz  \(n.channels) ch\n"
        }
        out += "\nproblems (\(index.problems.count)):\n"
        if index.problems.isEmpty { out += "  (none)\n" }
        for p in index.problems.prefix(maxProblems) { out += "  \(p.path)  \(p.kind.rawValue)  \(p.detail)\n" }
        if index.problems.count > maxProblems {
            out += "  … \(index.problems.count - maxProblems) more (see --json)\n"
        }
        return out
    }

    /// An FSD50K index: clips per class (vocabulary order) and subset, then the problems.
    static func render(_ index: FSD50KIndex, maxProblems: Int = 20) -> String {
        let subsets = FSD50KGroundTruth.Subset.allCases
        var rows: [[String]] = [["class", "mid"] + subsets.map(\.rawValue) + ["total"]]
        for (info, c) in zip(index.vocabulary, index.counts()) {
            rows.append([info.label, info.mid] + subsets.map { String(c[$0] ?? 0) } + [String(c.values.reduce(0, +))])
        }
        let clips = subsets.map { s in index.clips.filter { $0.subset == s }.count }
        rows.append(["(clips)", ""] + clips.map(String.init) + [String(index.clips.count)])
        var out =
            "corpus \(index.root)\nFSD50K layout, \(index.vocabulary.count) classes, \(index.clips.count) clips, "
            + String(format: "%.1f", index.totalSeconds / 3600) + " h at \(index.sampleRate) Hz\n\n"
        out += table(rows)
        out += "\nproblems (\(index.problems.count)):\n"
        if index.problems.isEmpty { out += "  (none)\n" }
        for p in index.problems.prefix(maxProblems) { out += "  \(p.path)  \(p.kind.rawValue)  \(p.detail)\n" }
        if index.problems.count > maxProblems {
            out += "  … \(index.problems.count - maxProblems) more (see --json)\n"
        }
        return out
    }

    /// Left-aligned first column, right-aligned numbers.
    static func table(_ rows: [[String]]) -> String {
        guard let width = rows.first?.count else { return "" }
        let widths = (0..<width).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
