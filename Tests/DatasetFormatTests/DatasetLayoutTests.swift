import DatasetFormat
import Foundation
import TestSupport
import Testing

@Suite("Dataset layout")
struct DatasetLayoutTests {
    @Test("where each part of a dataset lives")
    func paths() {
        let layout = DatasetLayout(URL(fileURLWithPath: "/d"))
        #expect(layout.info.path == "/d/dataset.json")
        #expect(layout.manifest(.validation).path == "/d/manifests/validation.jsonl")
        #expect(DatasetLayout.audioPath(split: .testing, id: "x1", format: .flac) == "audio/testing/x1.flac")
        #expect(layout.featureStore("logmel40").path == "/d/features/logmel40")
        #expect(
            layout.teacherCache(fingerprint: String(repeating: "ab", count: 32)).path == "/d/teachers/abababababababab")
    }

    @Test("a KD target's cache: the only one, a unique prefix, or a one-line error naming the choices")
    func teacherCacheMatching() throws {
        let root = try TestFolder.make("layout")
        defer { try? FileManager.default.removeItem(at: root) }
        let layout = DatasetLayout(root)
        #expect(throws: DatasetFormatError.self) { try layout.teacherCache(matching: nil) }
        for name in ["0123456789abcdef", "0123ffffffffffff"] {
            try FileManager.default.createDirectory(
                at: layout.teachersFolder.appendingPathComponent(name),
                withIntermediateDirectories: true)
        }
        try Data().write(to: layout.teachersFolder.appendingPathComponent(".partial"))
        #expect(layout.teacherCaches.map(\.lastPathComponent) == ["0123456789abcdef", "0123ffffffffffff"])
        #expect(try layout.teacherCache(matching: "01234567").lastPathComponent == "0123456789abcdef")
        #expect(try layout.teacherCache(matching: "0123456789abcdef0011").lastPathComponent == "0123456789abcdef")
        do {
            _ = try layout.teacherCache(matching: "0123")
            Issue.record("an ambiguous prefix was accepted")
        } catch {
            #expect("\(error)".contains("matches 2 caches"), "\(error)")
        }
        do {
            _ = try layout.teacherCache(matching: nil)
            Issue.record("two caches and no fingerprint were accepted")
        } catch {
            #expect("\(error)".contains("exactly one cache"), "\(error)")
        }
    }
}
