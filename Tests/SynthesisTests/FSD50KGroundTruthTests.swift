import AudioIO
import Foundation
import TKDCore
import Testing

@testable import Synthesis

/// Issue 16, point 1: the FSD50K ground-truth CSVs in the official format (quoted label lists, dev splits,
/// eval), and hostile rows refused with a one-line error naming the file, line, value and expectation.
@Suite("FSD50K ground truth")
struct FSD50KGroundTruthTests {
    // The official files' format (rows as in the real FSD50K.ground_truth/, labels and mids from its
    // vocabulary), on a 4-class vocabulary.
    static let vocabulary = """
        0,Electric_guitar,/m/02sgy
        1,Guitar,/m/0342h
        2,Music,/m/04rlf
        3,"Speech_synthesizer",/m/0ytgt

        """
    static let dev = """
        fname,labels,mids,split\r
        64760,"Electric_guitar,Guitar,Music","/m/02sgy,/m/0342h,/m/04rlf",train\r
        16399,Music,/m/04rlf,val\r
        16401,"Speech_synthesizer","/m/0ytgt",train\r

        """
    static let eval = """
        fname,labels,mids
        37199,"Guitar,Music","/m/0342h,/m/04rlf"
        """

    static func parse(
        vocabulary: String = vocabulary, dev: String = dev, eval: String = eval
    ) throws
        -> FSD50KGroundTruth
    {
        try FSD50KGroundTruth.parse(
            vocabulary: ("vocabulary.csv", vocabulary), dev: ("dev.csv", dev), eval: ("eval.csv", eval))
    }

    @Test("the official format: quoted lists, CRLF, a trailing blank line, dev train/val and eval")
    func official() throws {
        let gt = try Self.parse()
        #expect(gt.vocabulary.map(\.label) == ["Electric_guitar", "Guitar", "Music", "Speech_synthesizer"])
        #expect(gt.vocabulary[3].mid == "/m/0ytgt")
        #expect(gt.clips.map(\.fname) == ["64760", "16399", "16401", "37199"])
        #expect(gt.clips[0].classes == [0, 1, 2] && gt.clips[0].subset == .train)
        #expect(gt.clips[1].subset == .val && gt.clips[3].subset == .eval && gt.clips[3].classes == [1, 2])
        #expect(FSD50KGroundTruth.audioPath(gt.clips[0]) == "FSD50K.dev_audio/64760.wav")
        #expect(FSD50KGroundTruth.audioPath(gt.clips[3]) == "FSD50K.eval_audio/37199.wav")
        #expect(gt.clips.filter { $0.classes.contains(2) }.map(\.subset) == [.train, .val, .eval])
    }

    @Test("a quoted field may hold doubled quotes and line breaks; a stray quote is refused")
    func csv() throws {
        let rows = try CSV.rows("a,\"b \"\"x\"\", c\nd\",e\n\nf", path: "t.csv")
        #expect(rows.map(\.line) == [1, 4])
        #expect(rows[0].fields == ["a", "b \"x\", c\nd", "e"] && rows[1].fields == ["f"])
        #expect(throws: CoreError.self) { try CSV.rows("a,b\"c\n", path: "t.csv") }
        #expect(throws: CoreError.self) { try CSV.rows("a,\"b\n", path: "t.csv") }
        #expect(throws: CoreError.self) { try CSV.rows("a,\"b\"c\n", path: "t.csv") }
    }

    @Test(
        "hostile rows: one line naming the file and line, the value and what was expected",
        arguments: [
            (
                "dev", "16399,Music,/m/04rlf,val", "../../etc/passwd,Music,/m/04rlf,val", "dev.csv:3 fname",
                "../../etc/passwd"
            ),
            ("dev", "16399,Music,/m/04rlf,val", "16399,Musik,/m/04rlf,val", "dev.csv:3 labels", "Musik"),
            ("dev", "16399,Music,/m/04rlf,val", "16399,Music,/m/0342h,val", "dev.csv:3 mids", "/m/0342h"),
            ("dev", "16399,Music,/m/04rlf,val", "16399,Music,/m/04rlf,test", "dev.csv:3 split", "test"),
            ("dev", "16399,Music,/m/04rlf,val", "64760,Music,/m/04rlf,val", "dev.csv:3 fname", "64760"),
            ("dev", "16399,Music,/m/04rlf,val", "16399,Music,/m/04rlf", "dev.csv:3", "3 columns"),
            (
                "dev", "16399,Music,/m/04rlf,val", "16399,\"Music,Music\",\"/m/04rlf,/m/04rlf\",val",
                "dev.csv:3 labels", "Music"
            ),
            ("dev", "fname,labels,mids,split", "fname,label,mids,split", "dev.csv:1 header", "fname,label"),
            ("eval", "37199,", "/x,", "eval.csv:2 fname", "/x"),
            ("vocabulary", "1,Guitar", "2,Guitar", "vocabulary.csv:2 index", "2"),
            ("vocabulary", "2,Music,/m/04rlf", "2,Guitar,/m/04rlf", "vocabulary.csv:3 label", "Guitar"),
        ])
    func hostile(file: String, find: String, replace: String, field: String, value: String) throws {
        func edit(_ s: String) -> String { s.replacingOccurrences(of: find, with: replace) }
        do {
            _ = try Self.parse(
                vocabulary: file == "vocabulary" ? edit(Self.vocabulary) : Self.vocabulary,
                dev: file == "dev" ? edit(Self.dev) : Self.dev, eval: file == "eval" ? edit(Self.eval) : Self.eval)
            Issue.record("accepted: \(replace)")
        } catch let e as CoreError {
            let message = e.description
            #expect(message.hasPrefix(field) && message.contains(value) && !message.contains("\n"), "\(message)")
        }
    }

    @Test("missing files are named")
    func missing() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fsd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let gt = folder.appendingPathComponent(FSD50KGroundTruth.folder)
        try FileManager.default.createDirectory(at: gt, withIntermediateDirectories: true)
        try Data(Self.vocabulary.utf8).write(to: gt.appendingPathComponent("vocabulary.csv"))
        try Data(Self.dev.utf8).write(to: gt.appendingPathComponent("dev.csv"))
        do {
            _ = try FSD50KGroundTruth.load(root: folder)
            Issue.record("accepted a ground truth without eval.csv")
        } catch let e as CoreError {
            #expect(e.description.contains("eval.csv") && e.description.contains("missing"), "\(e)")
        }
        try Data(Self.eval.utf8).write(to: gt.appendingPathComponent("eval.csv"))
        #expect(try FSD50KGroundTruth.load(root: folder).clips.count == 4)
    }
}

/// `FSD50KScanner` on a tiny corpus in the official layout: counts per class and subset, and every kind of
/// problem (absent, wrong rate, too short, unlisted) reported with its path.
@Suite("FSD50K scanner")
struct FSD50KScannerTests {
    @Test("a good clip is indexed; absent, wrong-rate, too-short and unlisted files are problems")
    func scan() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fsd-scan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let gt = root.appendingPathComponent(FSD50KGroundTruth.folder)
        let dev = root.appendingPathComponent("FSD50K.dev_audio"),
            eval = root.appendingPathComponent("FSD50K.eval_audio")
        for f in [gt, dev, eval] { try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true) }
        try Data(FSD50KGroundTruthTests.vocabulary.utf8).write(to: gt.appendingPathComponent("vocabulary.csv"))
        try Data(FSD50KGroundTruthTests.dev.utf8).write(to: gt.appendingPathComponent("dev.csv"))
        try Data(FSD50KGroundTruthTests.eval.utf8).write(to: gt.appendingPathComponent("eval.csv"))
        let tone = { (n: Int) in (0..<n).map { Float(sin(Double($0) * 0.05) * 0.3) } }
        try AudioWriter.write(tone(22050), sampleRate: 44100, to: dev.appendingPathComponent("64760.wav"))
        try AudioWriter.write(tone(8000), sampleRate: 16000, to: dev.appendingPathComponent("16399.wav"))
        try AudioWriter.write(tone(4410), sampleRate: 44100, to: eval.appendingPathComponent("37199.wav"))
        try AudioWriter.write(tone(44100), sampleRate: 44100, to: eval.appendingPathComponent("99999.wav"))
        var scanner = FSD50KScanner()
        scanner.jobs = 2
        #expect(FSD50KScanner.isFSD50K(root))
        let index = try scanner.scan(root)
        #expect(index.clips.map(\.path) == ["FSD50K.dev_audio/64760.wav"])
        #expect(index.clips[0].frames == 22050 && index.clips[0].classes == [0, 1, 2])
        #expect(index.counts()[1] == [.train: 1] && index.counts()[3] == [:])
        let problems = index.problems.map { "\($0.path) \($0.kind.rawValue)" }
        #expect(
            problems == [
                "FSD50K.dev_audio/16399.wav wrong_sample_rate", "FSD50K.dev_audio/16401.wav missing_listed_file",
                "FSD50K.eval_audio/37199.wav too_short", "FSD50K.eval_audio/99999.wav unexpected_name",
            ], "\(problems)")
    }
}
