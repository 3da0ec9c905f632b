import Foundation
import TestSupport
import Testing

@testable import Teacher

/// Issue 16, point 3: transformers' `problem_type` — `multi_label_classification` read and written back, absent
/// or null meaning single-label, anything else refused by name.
@Suite("config.json problem_type")
struct ProblemTypeTests {
    static func config(problemType: Any?) throws -> URL {
        let base = Wav2Vec2ParityTests.fixtures.appendingPathComponent("bundled/config.json")
        var o = try JSONSerialization.jsonObject(with: Data(contentsOf: base)) as! [String: Any]
        o.removeValue(forKey: "problem_type")
        if let problemType { o["problem_type"] = problemType }
        let url = TestFolder.path("problem-type").appendingPathExtension("json")
        try JSONSerialization.data(withJSONObject: o).write(to: url)
        return url
    }

    @Test("multi_label_classification is read and written; absent or null is single-label; regression is refused")
    func readWrite() throws {
        let multi = try Self.config(problemType: "multi_label_classification")
        defer { try? FileManager.default.removeItem(at: multi) }
        let c = try Wav2Vec2Config(url: multi)
        #expect(c.problemType == .multiLabel)
        #expect(c.jsonObject()["problem_type"] as? String == "multi_label_classification")
        for value in [nil, NSNull()] as [Any?] {
            let url = try Self.config(problemType: value)
            defer { try? FileManager.default.removeItem(at: url) }
            let single = try Wav2Vec2Config(url: url)
            #expect(single.problemType == nil && single.jsonObject()["problem_type"] == nil)
        }
        let regression = try Self.config(problemType: "regression")
        defer { try? FileManager.default.removeItem(at: regression) }
        let e = #expect(throws: TeacherError.self) { try Wav2Vec2Config(url: regression) }
        #expect(e.map { "\($0)".contains("problem_type") && "\($0)".contains("regression") } == true)
    }
}
