import Foundation
import TKDCore
import Testing

@testable import Synthesis

/// Issue 16, point 1: the offline FSD50K stand-in — the official layout its own scanner accepts, multi-label
/// clips of variable length at 44.1 kHz, events recorded, and the same bytes whatever the number of jobs.
@Suite("FSD50K stand-in")
struct FSD50KStandInTests {
    static func build(_ jobs: Int) throws -> (URL, [FSD50KStandIn.Clip]) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fsd-demo-\(UUID().uuidString)")
        var s = FSD50KStandIn(output: root)
        s.clips = 40
        s.seed = 3
        s.jobs = jobs
        return (root, try s.write())
    }

    static func digest(_ root: URL) throws -> [String: String] {
        var out: [String: String] = [:]
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        for case let url as URL in files where !url.hasDirectoryPath {
            out[String(url.path.dropFirst(root.path.count))] = SHA256.hex(try Data(contentsOf: url))
        }
        return out
    }

    @Test("its scanner accepts it: 12 classes, multi-label clips of 0.5-8 s, events inside their clips")
    func layout() throws {
        let (root, made) = try Self.build(2)
        defer { try? FileManager.default.removeItem(at: root) }
        var scanner = FSD50KScanner()
        scanner.jobs = 2
        let index = try scanner.scan(root)
        #expect(index.problems.isEmpty, "\(index.problems.prefix(3))")
        #expect(index.vocabulary.count == 12 && index.clips.count == 40)
        #expect(Set(index.clips.map(\.subset)) == [.train, .val, .eval])
        #expect(index.clips.filter { $0.subset == .eval }.count == 8)
        #expect(index.clips.contains { $0.classes.count > 1 } && index.clips.allSatisfy { !$0.classes.isEmpty })
        #expect(index.clips.allSatisfy { $0.frames >= 22050 && $0.frames <= 8 * 44100 })
        let events = try JSONDecoder().decode(
            StandInEvents.self,
            from: Data(contentsOf: root.appendingPathComponent("FSD50K.ground_truth/events.json")))
        for clip in made {
            let listed = index.clips.first { $0.path.hasSuffix("/\(clip.fname).wav") }!
            let spans = events.events[clip.fname]!
            #expect(spans.allSatisfy { 0 <= $0.onsetSample && $0.onsetSample < $0.offsetSample })
            #expect(spans.allSatisfy { $0.offsetSample <= listed.frames })
            #expect(Set(spans.map(\.label)) == Set(listed.classes.map { index.vocabulary[$0].label }))
        }
    }

    @Test("the same bytes with 1 and 2 jobs; a rerun keeps every file")
    func deterministic() throws {
        let (a, _) = try Self.build(1), (b, _) = try Self.build(2)
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        let da = try Self.digest(a), db = try Self.digest(b)
        #expect(da.count == 44 && da == db)
        var again = FSD50KStandIn(output: a)
        again.clips = 40
        again.seed = 3
        try again.write()
        let rerun = try Self.digest(a)
        #expect(rerun == da)
        // Another seed into the same folder would mix two corpora: refused, naming both settings.
        again.seed = 4
        do {
            try again.write()
            Issue.record("a stand-in with another seed was written over the first")
        } catch let e as SynthesisError {
            #expect("\(e)".contains("seed 3, 40 clips") && "\(e)".contains("now seed 4"), "\(e)")
        }
        #expect(try Self.digest(a) == da)
    }
}
