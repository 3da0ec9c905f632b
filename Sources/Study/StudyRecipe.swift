import DatasetFormat
import Foundation
import TKDCore

/// A study recipe (`Recipes/study/<name>.yaml`): the corpus, the lengths, the teacher, the students and the grid
/// of (λ, target) × seeds that `tkd study` runs. Every file it names is relative to the recipe's folder and must
/// stay inside it.
public struct StudyRecipe: Sendable, Equatable {
    public var name: String
    public var description: String
    public var corpus: Corpus
    /// The generation recipe (its variants include `lengths`).
    public var generate: URL
    /// Variant names of the generation recipe, in table order (e.g. `2s`, `8s`).
    public var lengths: [String]
    public var teacher: Teacher
    /// Student name → training config, in table order.
    public var students: [(name: String, config: URL)]
    /// The distilled columns; λ = 0 is always run as the baseline.
    public var grid: [Cell]
    public var seeds: [UInt64]
    /// Per-length override of the students' `steps` (lengths missing here keep the config's).
    public var steps: [String: Int]
    public var bootstrap: Bootstrap

    public struct Corpus: Sendable, Equatable {
        public var speakers: Int
        public var utterances: Int
        public var engines: [String]
        public var heldOut: Int
        public var reverb: Double
        public var seed: UInt64
    }

    public struct Teacher: Sendable, Equatable {
        /// The length the teacher is trained at from scratch.
        public var base: String
        public var config: URL
        /// Config for the other lengths: fine-tuned with `--init` from the base teacher.
        public var finetune: URL?
        /// The teacher bar: its rollout must peak inside the speech span for at least this share of
        /// validation keyword examples, and its validation accuracy must reach the best λ = 0 student's.
        public var peakInSpan: Double
    }

    /// One distilled column: λ > 0 with a target (`teacher` or `oracle`).
    public struct Cell: Sendable, Equatable, Hashable {
        public var lambda: Double
        public var target: String
        public init(lambda: Double, target: String) {
            self.lambda = lambda
            self.target = target
        }
        public static let baseline = Cell(lambda: 0, target: "none")
        public var label: String { lambda == 0 ? "λ = 0" : "λ = \(Self.short(lambda)) (\(target))" }
        public var slug: String { lambda == 0 ? "l0" : "l\(Self.short(lambda))-\(target)" }
        public static func short(_ x: Double) -> String {
            var s = String(format: "%.4f", x)
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
            return s
        }
    }

    public struct Bootstrap: Sendable, Equatable {
        public var replicates: Int
        public var seed: UInt64
    }

    /// All columns: the baseline, then the grid.
    public var columns: [Cell] { [.baseline] + grid }

    public static func == (a: StudyRecipe, b: StudyRecipe) -> Bool {
        a.name == b.name && a.description == b.description && a.corpus == b.corpus && a.generate == b.generate
            && a.lengths == b.lengths && a.teacher == b.teacher
            && a.students.map(\.name) == b.students.map(\.name) && a.students.map(\.config) == b.students.map(\.config)
            && a.grid == b.grid && a.seeds == b.seeds && a.steps == b.steps && a.bootstrap == b.bootstrap
    }

    static let keys = [
        "name", "description", "corpus", "generate", "lengths", "teacher", "students", "grid", "seeds", "steps",
        "bootstrap",
    ]

    /// Reads and checks a recipe.
    /// - Throws: `ConfigError` naming the file, line and key of the first problem.
    public static func load(_ url: URL) throws -> StudyRecipe {
        let root = try YAMLValue.load(url)
        let folder = url.deletingLastPathComponent()
        let m = try root.mapping(
            allowed: keys, required: ["name", "corpus", "generate", "lengths", "teacher", "students", "seeds"])
        func file(_ v: YAMLValue) throws -> URL {
            let text = try v.string()
            do {
                return try ContainedPath.resolve(text, under: folder, field: v.path, regularFile: true)
            } catch {
                throw v.fail("'\(text)' must name a file inside \(folder.path) (\(error))")
            }
        }
        let name = try m["name"]!.string()
        if (try? ContainedPath.checkName(name, field: "name")) == nil {
            throw m["name"]!.fail("'\(name)' is not a plain name (no '/', not empty, not starting with '.')")
        }
        let c = try m["corpus"]!.mapping(
            allowed: ["speakers", "utterances", "engines", "held_out", "reverb", "seed"], required: ["speakers"])
        let engines = try c["engines"].map { try $0.list().map { try $0.choice(["espeak-ng", "flite", "festival"]) } }
        let corpus = Corpus(
            speakers: try c["speakers"]!.int(in: 3...100_000),
            utterances: try c["utterances"].map { try $0.int(in: 1...20) } ?? 3,
            engines: engines ?? ["espeak-ng"],
            heldOut: try c["held_out"].map { try $0.int(in: 1...4) } ?? 1,
            reverb: try c["reverb"].map { try $0.double(in: 0...1) } ?? 0,
            seed: UInt64(try c["seed"].map { try $0.int(in: 0...Int(Int32.max)) } ?? 0))
        let lengthValues = try m["lengths"]!.list()
        let lengths = try lengthValues.map { try $0.string() }
        guard !lengths.isEmpty, Set(lengths).count == lengths.count else {
            throw m["lengths"]!.fail("expected one or more distinct variant names of the generation recipe")
        }
        let generate = try file(m["generate"]!)
        let recipe = try Recipe.load(generate)
        for (v, n) in zip(lengthValues, lengths) where recipe.variant(n) == nil {
            throw v.fail(
                "'\(n)' is not a variant of \(generate.lastPathComponent); expected one of: "
                    + recipe.variants.map(\.name).joined(separator: ", "))
        }
        let t = try m["teacher"]!.mapping(
            allowed: ["base", "config", "finetune", "bar"], required: ["base", "config"])
        let base = try t["base"]!.string()
        guard lengths.contains(base) else {
            throw t["base"]!.fail("'\(base)' is not one of the study's lengths (\(lengths.joined(separator: ", ")))")
        }
        let finetune = try t["finetune"].map(file)
        if lengths.count > 1, finetune == nil {
            throw t["base"]!.fail("a study with several lengths needs teacher.finetune (the per-length fine-tuning)")
        }
        var peak = 0.8
        if let b = t["bar"] {
            let bm = try b.mapping(allowed: ["peak_in_span"])
            peak = try bm["peak_in_span"].map { try $0.double(in: 0...1) } ?? peak
        }
        let teacher = Teacher(base: base, config: try file(t["config"]!), finetune: finetune, peakInSpan: peak)
        guard case let .mapping(studentNodes)? = m["students"]!.node, !studentNodes.isEmpty else {
            throw m["students"]!.fail("expected a mapping of student name → training config")
        }
        let studentMap = try m["students"]!.mapping(allowed: StudyRecipe.studentNames)
        var students: [(String, URL)] = []
        for (k, _) in studentNodes {
            let key = k.string ?? ""
            students.append((key, try file(studentMap[key]!)))
        }
        var grid: [Cell] = []
        for v in try m["grid"]?.list() ?? [] {
            let g = try v.mapping(allowed: ["lambda", "target"], required: ["lambda", "target"])
            let cell = Cell(
                lambda: try g["lambda"]!.double(in: 0.000_001...100),
                target: try g["target"]!.choice(["teacher", "oracle"]))
            guard !grid.contains(cell) else { throw v.fail("cell given twice") }
            grid.append(cell)
        }
        let seeds = try m["seeds"]!.list().map { UInt64(try $0.int(in: 0...Int(Int32.max))) }
        guard !seeds.isEmpty, Set(seeds).count == seeds.count else {
            throw m["seeds"]!.fail("expected one or more distinct seeds")
        }
        var steps: [String: Int] = [:]
        if let s = m["steps"] {
            for (k, v) in try s.mapping(allowed: lengths) { steps[k] = try v.int(in: 1...10_000_000) }
        }
        var bootstrap = Bootstrap(replicates: 10_000, seed: 0)
        if let b = m["bootstrap"] {
            let bm = try b.mapping(allowed: ["replicates", "seed"])
            bootstrap.replicates = try bm["replicates"].map { try $0.int(in: 100...1_000_000) } ?? bootstrap.replicates
            bootstrap.seed = UInt64(try bm["seed"].map { try $0.int(in: 0...Int(Int32.max)) } ?? 0)
        }
        return StudyRecipe(
            name: name, description: try m["description"]?.string() ?? "", corpus: corpus, generate: generate,
            lengths: lengths, teacher: teacher, students: students, grid: grid, seeds: seeds, steps: steps,
            bootstrap: bootstrap)
    }

    public static let studentNames = ["lstm-p", "tc-resnet", "crnn", "att-rnn", "mhatt-rnn"]
}
