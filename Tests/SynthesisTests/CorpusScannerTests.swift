import AudioIO
import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Synthesis

@Suite("Corpus scanning")
struct CorpusScannerTests {
    /// A corpus with one good clip per word folder and one of each problem.
    static func makeProblemCorpus() throws -> URL {
        let root = TestFolder.path("problems")
        let tone = (0..<16000).map { Float(0.3 * sin(Double($0) * 0.2)) }
        func write(_ path: String, _ x: [Float], rate: Int = 16000) throws {
            try AudioWriter.write(x, sampleRate: rate, to: root.appendingPathComponent(path))
        }
        try write("yes/0a7c2a8d_nohash_0.wav", tone)
        try write("yes/0a7c2a8d_nohash_1.wav", tone)
        try write("no/bb05582b_nohash_0.wav", tone)
        try write("no/a69b9b3e_nohash_0.wav", Array(tone.prefix(8000)), rate: 8000)  // wrong rate
        try write("no/409c962a_nohash_0.wav", tone + tone)  // too long
        try write("no/README.wav", tone)  // unexpected name
        try AtomicFile.write(Data("not audio".utf8), to: root.appendingPathComponent("yes/dbaf8fc6_nohash_0.wav"))
        // Unreadable: no header.
        try AtomicFile.write(Data(), to: root.appendingPathComponent("yes/a6d586b7_nohash_0.wav"))
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("_odd_folder_"), withIntermediateDirectories: true)
        try write("_background_noise_/hum.wav", tone + tone + tone)
        return root
    }

    @Test("problems are reported with paths, and splits come from the hash rule without list files")
    func problems() throws {
        let root = try Self.makeProblemCorpus()
        defer { try? FileManager.default.removeItem(at: root) }
        let index = try CorpusScanner().scan(root)
        #expect(index.splitSource == .hashRule)
        #expect(index.version == .v1)
        #expect(index.words == ["no", "yes"])
        #expect(
            index.utterances.map(\.path) == [
                "no/bb05582b_nohash_0.wav", "yes/0a7c2a8d_nohash_0.wav", "yes/0a7c2a8d_nohash_1.wav",
            ])
        #expect(
            index.utterances.first { $0.path.hasPrefix("no/") }?.split == .testing,
            "bb05582b is in the official testing list")
        let byPath = Dictionary(uniqueKeysWithValues: index.problems.map { ($0.path, $0.kind) })
        #expect(
            byPath == [
                "no/a69b9b3e_nohash_0.wav": .wrongSampleRate,
                "no/409c962a_nohash_0.wav": .tooLong,
                "no/README.wav": .unexpectedName,
                "yes/dbaf8fc6_nohash_0.wav": .unreadable,
                "yes/a6d586b7_nohash_0.wav": .unreadable,
                "_odd_folder_": .unexpectedName,
            ])
        #expect(index.noise.map(\.path) == ["_background_noise_/hum.wav"])
        #expect(index.noise.first?.durationSeconds == 3)
    }

    @Test("list files take precedence; absent listed files and disagreements with the rule are reported")
    func lists() throws {
        let root = try Self.makeProblemCorpus()
        defer { try? FileManager.default.removeItem(at: root) }
        // bb05582b is officially testing; list it as validation to provoke a disagreement.
        try AtomicFile.write(
            Data("no/bb05582b_nohash_0.wav\nright/00000000_nohash_0.wav\n".utf8),
            to: root.appendingPathComponent("validation_list.txt"))
        try AtomicFile.write(Data("\n".utf8), to: root.appendingPathComponent("testing_list.txt"))
        let index = try CorpusScanner().scan(root)
        #expect(index.splitSource == .listFiles)
        #expect(index.utterances.first { $0.path == "no/bb05582b_nohash_0.wav" }?.split == .validation)
        #expect(index.utterances.first { $0.path.hasPrefix("yes/") }?.split == .training)
        let kinds = Set(index.problems.map(\.kind))
        #expect(kinds.contains(.missingListedFile))
        #expect(kinds.contains(.listDisagreesWithRule))
        #expect(index.problems.first { $0.kind == .missingListedFile }?.path == "right/00000000_nohash_0.wav")
    }

    @Test("a missing folder and a folder without words are errors")
    func notACorpus() throws {
        #expect(throws: SynthesisError.corpusMissing(path: "/nonexistent/corpus")) {
            try CorpusScanner().scan(URL(fileURLWithPath: "/nonexistent/corpus"))
        }
        let empty = TestFolder.path("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: SynthesisError.self) { try CorpusScanner().scan(empty) }
    }

    @Test("the index encodes to canonical JSON and back")
    func json() throws {
        let root = try Self.makeProblemCorpus()
        defer { try? FileManager.default.removeItem(at: root) }
        let index = try CorpusScanner().scan(root)
        let data = try CanonicalJSON.encode(index)
        #expect(try JSONDecoder().decode(CorpusIndex.self, from: data) == index)
        #expect(String(decoding: data, as: UTF8.self).contains(#""split_source":"hash-rule""#))
    }
}
