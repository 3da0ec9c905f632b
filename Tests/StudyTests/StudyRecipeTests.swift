import Foundation
import TKDCore
import TestSupport
import Testing
import Training

@testable import Study

@Suite("Study: recipes, the ledger and the table")
struct StudyRecipeTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let studyFolder = repo.appendingPathComponent("Recipes/study")

    @Test("the committed recipes load: quick and standard have the grid the issue asks for")
    func committedRecipes() throws {
        let quick = try StudyRecipe.load(Self.studyFolder.appendingPathComponent("quick.yaml"))
        #expect(quick.lengths == ["2s", "8s"])
        #expect(quick.students.map(\.name) == ["tc-resnet"])
        #expect(quick.columns == [.baseline, .init(lambda: 0.25, target: "teacher")])
        #expect(quick.seeds.count == 3)
        let standard = try StudyRecipe.load(Self.studyFolder.appendingPathComponent("standard.yaml"))
        #expect(standard.students.map(\.name) == ["tc-resnet", "att-rnn"])
        #expect(Set(standard.grid) == [.init(lambda: 0.25, target: "teacher"), .init(lambda: 0.25, target: "oracle")])
        #expect(standard.lengths.contains("2s") && standard.lengths.contains("8s"))
        #expect(standard.seeds.count == 3)
        #expect(standard.teacher.peakInSpan == 0.8)
    }

    /// A copy of the study folder with `standard.yaml` edited by `edit`; returns the load error's text.
    func error(_ edit: (String) -> String) throws -> String {
        let folder = try TestFolder.make("study-recipe")
        defer { try? FileManager.default.removeItem(at: folder) }
        let copy = folder.appendingPathComponent("study")
        try FileManager.default.copyItem(at: Self.studyFolder, to: copy)
        let url = copy.appendingPathComponent("standard.yaml")
        try Data(edit(try String(contentsOf: url, encoding: .utf8)).utf8).write(to: url)
        do {
            _ = try StudyRecipe.load(url)
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test("bad recipes get one line naming the key, the value and what was expected")
    func badRecipes() throws {
        let typo = try error { $0.replacingOccurrences(of: "seeds:", with: "seed:") }
        #expect(typo.contains("seed") && typo.contains("unknown key"), "\(typo)")
        let escape = try error {
            $0.replacingOccurrences(of: "config: teacher.yaml", with: "config: ../teacher/demo.yaml")
        }
        #expect(escape.contains("teacher.config") && escape.contains("../teacher/demo.yaml"), "\(escape)")
        let length = try error { $0.replacingOccurrences(of: "lengths: [2s, 8s]", with: "lengths: [2s, 9s]") }
        #expect(length.contains("9s") && length.contains("not a variant") && length.contains("8s"), "\(length)")
        let base = try error { $0.replacingOccurrences(of: "base: 2s", with: "base: 4s") }
        #expect(base.contains("teacher.base") && base.contains("4s"), "\(base)")
        let student = try error { $0.replacingOccurrences(of: "att-rnn: att-rnn.yaml", with: "att-rn: att-rnn.yaml") }
        #expect(student.contains("att-rn") && student.contains("tc-resnet"), "\(student)")
        let target = try error { $0.replacingOccurrences(of: "target: oracle}", with: "target: orakel}") }
        #expect(target.contains("orakel"), "\(target)")
        let seeds = try error { $0.replacingOccurrences(of: "seeds: [0, 1, 2]", with: "seeds: [0, 0]") }
        #expect(seeds.contains("distinct seeds"), "\(seeds)")
    }

    static func entry(
        length: String = "8s", student: String = "tc-resnet", lambda: Double, target: String, seed: UInt64,
        correct: [Bool], validation: Double = 0.5
    ) -> StudyCellEntry {
        StudyCellEntry(
            study: "t", length: length, student: student, lambda: lambda, target: target, seed: seed, tool: "tkd",
            fingerprints: StudyFingerprints(data: "d"), steps: 100, bestStep: 50, validationAccuracy: validation,
            testAccuracy: Double(correct.filter { $0 }.count) / Double(correct.count),
            test: .init(examples: correct.count, idsSHA256: "ids", correct: EvaluationDetails.hex(correct)),
            attention: [
                "kd_head": AttentionLocalisation(examples: 5, massInSpeech: 0.4, peakInSpeech: 0.9, spanShare: 0.1)
            ],
            teacherMetBar: nil, wallSeconds: 1, machine: "m")
    }

    @Test("the table pairs each distilled run with the same seed's baseline and lists what is missing")
    func summary() throws {
        var recipe = try StudyRecipe.load(Self.studyFolder.appendingPathComponent("quick.yaml"))
        recipe.name = "t"
        recipe.lengths = ["8s"]
        recipe.bootstrap.replicates = 200
        // Baseline right on 5 of 10, distilled on 7 of 10 (the same 5 plus two): +20 points for each seed.
        let base = (0..<10).map { $0 < 5 }, better = (0..<10).map { $0 < 7 }
        var cells = (0..<3).map { Self.entry(lambda: 0, target: "none", seed: UInt64($0), correct: base) }
        cells += (0..<2).map { Self.entry(lambda: 0.25, target: "teacher", seed: UInt64($0), correct: better) }
        let teacher = StudyTeacherEntry(
            study: "t", length: "8s", tool: "tkd", fingerprints: StudyFingerprints(data: "d", teacher: "f"),
            made: "fine-tuned from 2s", validationAccuracy: 0.45, testAccuracy: 0.44,
            validation: AttentionLocalisation(examples: 5, massInSpeech: 0.5, peakInSpeech: 0.9, spanShare: 0.1),
            all: AttentionLocalisation(examples: 5, massInSpeech: 0.5, peakInSpeech: 0.9, spanShare: 0.1),
            rolloutRow: "mean", wallSeconds: 1, machine: "m")
        let s = StudySummary.make(recipe: recipe, cells: cells, teachers: ["8s": teacher])
        let distilled = try #require(s.rows.first { $0.lambda > 0 })
        #expect(abs(distilled.difference! - 0.2) < 1e-12)
        #expect(distilled.pairedSeeds == 2)
        // Only 2 of 10 examples differ: a resample misses both with probability 0.8¹⁰ ≈ 11 % > 2.5 %.
        #expect(distilled.bootstrapLow! == 0 && distilled.bootstrapHigh! > 0.2 && distilled.bootstrapHigh! <= 0.5)
        #expect(
            abs(distilled.tLow! - 0.2) < 1e-12 && abs(distilled.tHigh! - 0.2) < 1e-12,
            "seeds agree exactly: a zero-width t-interval")
        #expect(s.missing == ["8s tc-resnet λ = 0.25 (teacher) seed 2"])
        // The teacher (45 % validation) is below the best λ = 0 student (50 %): the bar fails and says why.
        let t = try #require(s.teachers.first)
        #expect(t.metBar == false)
        #expect(t.barReason!.contains("45.0 %") && t.barReason!.contains("50.0 %"), "\(t.barReason!)")
        #expect(s.markdownTable.contains("+20.0") && s.markdownTable.contains("†"))
        // Unpaired: another test set is not compared.
        var other = cells
        other[3].test.idsSHA256 = "other"
        other[4].test.idsSHA256 = "other"
        #expect(
            StudySummary.make(recipe: recipe, cells: other, teachers: [:]).rows.first { $0.lambda > 0 }!.difference
                == nil)
        // The page renders the table and one plot per student.
        let html = StudyPage(summary: s).html()
        #expect(html.contains("<svg") && html.contains("tc-resnet") && html.contains("+20.0"))
    }

    @Test("fingerprint mismatches name the first field that differs")
    func fingerprints() {
        let a = StudyFingerprints(data: "d", features: "f", teacher: "t1", config: "c")
        var b = a
        #expect(a.mismatch(b) == nil)
        b.teacher = "t2"
        #expect(a.mismatch(b)! == ("teacher", "t1", "t2"))
        b.data = "e"
        #expect(a.mismatch(b)! == ("data", "d", "e"))
    }
}
