import DatasetFormat
import Foundation
import Testing

@testable import Synthesis

/// Reads a gzip-compressed fixture with the system's `gzip` (Foundation on Linux has no zlib API).
func gunzipLines(_ url: URL) throws -> [String] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "gzip -dc \"$0\"", url.path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw CocoaError(.fileReadCorruptFile) }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

@Suite("Official split rule")
struct SplitRuleTests {
    @Test(
        "the hash rule reproduces every line of the official list files",
        arguments: [
            ("speech-commands-v1", "validation_list.txt.gz", Split.validation, 6798),
            ("speech-commands-v1", "testing_list.txt.gz", Split.testing, 6835),
            ("speech-commands-v1", "train_list.txt.gz", Split.training, 51088),
            ("speech-commands-v2", "validation_list.txt.gz", Split.validation, 9981),
            ("speech-commands-v2", "testing_list.txt.gz", Split.testing, 11005),
        ])
    func officialLists(version: String, file: String, split: Split, count: Int) throws {
        let lines = try gunzipLines(fixtures.appendingPathComponent(version).appendingPathComponent(file))
        #expect(lines.count == count)
        let wrong = lines.filter { SplitRule.official.split(of: $0) != split }
        #expect(wrong.isEmpty, "\(wrong.count) of \(lines.count) lines disagree, e.g. \(wrong.prefix(3))")
    }

    @Test("the hashed name is the base name up to _nohash_")
    func hashName() {
        #expect(SplitRule.hashName("right/bb05582b_nohash_3.wav") == "bb05582b")
        #expect(SplitRule.hashName("bb05582b_nohash_3.wav") == "bb05582b")
        #expect(SplitRule.hashName("/data/sc/yes/0a7c2a8d_nohash_0.wav") == "0a7c2a8d")
        #expect(SplitRule.hashName("no_hash_here.wav") == "no_hash_here.wav")
        // All clips of one speaker share a split.
        #expect(
            SplitRule.official.split(of: "yes/bb05582b_nohash_0.wav")
                == SplitRule.official.split(of: "no/bb05582b_nohash_7.wav"))
    }

    @Test("other percentages move the thresholds")
    func percentages() {
        let names = (0..<2000).map { String(format: "%08x_nohash_0.wav", $0 &* 2_654_435_761 % 0xFFFF_FFFF) }
        let none = SplitRule(validationPercentage: 0, testingPercentage: 0)
        #expect(names.allSatisfy { none.split(of: $0) == .training })
        let half = SplitRule(validationPercentage: 50, testingPercentage: 50)
        #expect(names.allSatisfy { half.split(of: $0) != .training })
        let shares = Dictionary(grouping: names, by: { SplitRule.official.split(of: $0) }).mapValues(\.count)
        #expect((150...250).contains(shares[.validation] ?? 0), "\(shares)")
        #expect((150...250).contains(shares[.testing] ?? 0), "\(shares)")
    }

    @Test("clip names parse into speaker and utterance index; others are rejected")
    func clipNames() {
        #expect(CorpusScanner.parseClipName("0a7c2a8d_nohash_0.wav")! == ("0a7c2a8d", 0))
        #expect(CorpusScanner.parseClipName("ffffffff_nohash_12.wav")! == ("ffffffff", 12))
        for bad in [
            "0a7c2a8d_nohash_0.flac", "0A7C2A8D_nohash_0.wav", "0a7c2a8_nohash_0.wav", "0a7c2a8d_nohash_.wav",
            "0a7c2a8d_hash_0.wav", "readme.wav", "0a7c2a8d_nohash_x.wav",
        ] {
            #expect(CorpusScanner.parseClipName(bad) == nil, "\(bad)")
        }
    }
}
