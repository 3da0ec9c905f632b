import Foundation
import TestSupport
import Testing

@testable import TKDCore

@Suite("Canonical JSON and atomic files")
struct IOTests {
    struct Record: Codable, Equatable {
        var zeta: Int
        var alpha: String
        var path: String
    }

    @Test("canonical JSON sorts keys and keeps slashes unescaped")
    func canonical() throws {
        let data = try CanonicalJSON.encode(Record(zeta: 1, alpha: "a", path: "yes/x.wav"))
        #expect(String(decoding: data, as: UTF8.self) == #"{"alpha":"a","path":"yes/x.wav","zeta":1}"#)
        let lines = try CanonicalJSON.encodeLines([
            Record(zeta: 1, alpha: "a", path: "p"), Record(zeta: 2, alpha: "b", path: "q"),
        ])
        #expect(String(decoding: lines, as: UTF8.self).split(separator: "\n").count == 2)
        #expect(try CanonicalJSON.decodeLines(Record.self, from: lines, path: "x.jsonl").map(\.zeta) == [1, 2])
    }

    @Test("a bad JSON Lines record is reported with its file, line and field")
    func badLine() throws {
        let text = #"{"alpha":"a","path":"p","zeta":1}"# + "\n" + #"{"alpha":"a","path":"p"}"# + "\n"
        #expect {
            try CanonicalJSON.decodeLines(Record.self, from: Data(text.utf8), path: "train.jsonl")
        } throws: { error in
            guard case let .malformedJSON(path, line, reason) = error as? CoreError else { return false }
            return path == "train.jsonl" && line == 2 && reason.contains("zeta")
        }
    }

    @Test("atomic writes leave only the final file behind")
    func atomic() throws {
        let dir = TestFolder.path("atomic")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("sub/out.json")
        try AtomicFile.write(Data("one".utf8), to: url)
        try AtomicFile.write(Data("two".utf8), to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "two")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path) == ["out.json"])
        #expect(AtomicFile.isTemporary(AtomicFile.temporaryURL(for: url).lastPathComponent))
        #expect(!AtomicFile.isTemporary("out.json"))
    }
}
