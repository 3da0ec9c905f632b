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
    /// The distilled columns of the default block (no `blocks:`); λ = 0 is always run as the baseline.
    public var grid: [Cell]
    public var seeds: [UInt64]
    /// The default schedule: per-length override of the students' `steps` (lengths missing here keep the
    /// config's).
    public var steps: [String: Int]
    /// Named schedules beside the default one (e.g. `converged`).
    public var schedules: [String: Schedule] = [:]
    /// Sub-grids: which students, lengths and distilled columns run on which schedule. Empty: one block of every
    /// student and length on the default schedule with `grid`.
    public var blocks: [Block] = []
    public var convergence = Convergence()
    /// The generation recipe that makes the real-speech test sets (one per length) from `--real-corpus`.
    public var realSpeech: URL?
    public var bootstrap: Bootstrap

    /// A named schedule: the students' steps per length and, optionally, how often they validate.
    public struct Schedule: Sendable, Equatable {
        public var steps: [String: Int]
        public var evalEvery: Int?
        public init(steps: [String: Int], evalEvery: Int? = nil) {
            self.steps = steps
            self.evalEvery = evalEvery
        }
    }

    /// One sub-grid: λ = 0 and `grid`'s columns for `students` × `lengths` on `schedule` (nil: the default).
    public struct Block: Sendable, Equatable {
        public var schedule: String?
        public var lengths: [String]
        public var students: [String]
        public var grid: [Cell]
        public init(schedule: String?, lengths: [String], students: [String], grid: [Cell]) {
            self.schedule = schedule
            self.lengths = lengths
            self.students = students
            self.grid = grid
        }
    }

    /// The convergence rule every cell is held to: its best validation accuracy over the last `window` of the
    /// steps may exceed the best before it by at most `tolerance` (0.005 = half a point).
    public struct Convergence: Sendable, Equatable {
        public var window = 0.3
        public var tolerance = 0.005
        public init(window: Double = 0.3, tolerance: Double = 0.005) {
            self.window = window
            self.tolerance = tolerance
        }
    }

    /// One planned student run: which length, student, schedule and column (every seed runs it).
    public struct Planned: Sendable, Equatable, Hashable {
        public var length: String
        public var student: String
        public var schedule: String?
        public var column: Cell
    }

    /// Every planned (length, student, schedule, column), in table order: lengths, then students, then
    /// schedules in block order (default first), then λ = 0 and the columns in block order.
    public var plan: [Planned] {
        let bs =
            blocks.isEmpty
            ? [Block(schedule: nil, lengths: lengths, students: students.map(\.name), grid: grid)] : blocks
        var scheduleOrder: [String?] = []
        for b in bs where !scheduleOrder.contains(b.schedule) { scheduleOrder.append(b.schedule) }
        var out: [Planned] = []
        for length in lengths {
            for (student, _) in students {
                for schedule in scheduleOrder {
                    var columns: [Cell] = []
                    for b in bs
                    where b.schedule == schedule && b.lengths.contains(length)
                        && b.students.contains(student)
                    {
                        for c in [Cell.baseline] + b.grid where !columns.contains(c) { columns.append(c) }
                    }
                    for c in columns {
                        out.append(Planned(length: length, student: student, schedule: schedule, column: c))
                    }
                }
            }
        }
        return out
    }

    /// The students' steps for a length on a schedule (nil: the config's).
    public func steps(length: String, schedule: String?) -> Int? {
        guard let schedule else { return steps[length] }
        return schedules[schedule]?.steps[length]
    }

    /// The training config of a student.
    public func config(_ student: String) -> URL? { students.first { $0.name == student }?.config }

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
            && a.grid == b.grid && a.seeds == b.seeds && a.steps == b.steps && a.schedules == b.schedules
            && a.blocks == b.blocks && a.convergence == b.convergence && a.realSpeech == b.realSpeech
            && a.bootstrap == b.bootstrap
    }

    static let keys = [
        "name", "description", "corpus", "generate", "lengths", "teacher", "students", "grid", "seeds", "steps",
        "schedules", "blocks", "convergence", "real_speech", "bootstrap",
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
        func gridList(_ node: YAMLValue?) throws -> [Cell] {
            var grid: [Cell] = []
            for v in try node?.list() ?? [] {
                let g = try v.mapping(allowed: ["lambda", "target"], required: ["lambda", "target"])
                let cell = Cell(
                    lambda: try g["lambda"]!.double(in: 0.000_001...100),
                    target: try g["target"]!.choice(["teacher", "oracle"]))
                guard !grid.contains(cell) else { throw v.fail("cell given twice") }
                grid.append(cell)
            }
            return grid
        }
        let grid = try gridList(m["grid"])
        let seeds = try m["seeds"]!.list().map { UInt64(try $0.int(in: 0...Int(Int32.max))) }
        guard !seeds.isEmpty, Set(seeds).count == seeds.count else {
            throw m["seeds"]!.fail("expected one or more distinct seeds")
        }
        func stepsMap(_ node: YAMLValue) throws -> [String: Int] {
            var steps: [String: Int] = [:]
            for (k, v) in try node.mapping(allowed: lengths) { steps[k] = try v.int(in: 1...10_000_000) }
            return steps
        }
        let steps = try m["steps"].map(stepsMap) ?? [:]
        var schedules: [String: Schedule] = [:]
        if let node = m["schedules"] {
            guard case let .mapping(pairs)? = node.node else {
                throw node.fail("expected a mapping of schedule name → {steps, eval_every}")
            }
            for (k, _) in pairs {
                let key = k.string ?? ""
                if (try? ContainedPath.checkName(key, field: "schedules")) == nil || key.contains("-") {
                    throw node.fail("'\(key)' is not a plain schedule name (letters, digits, '_'; no '-')")
                }
            }
            for (key, v) in try node.mapping(allowed: pairs.compactMap { $0.0.string }) {
                let sm = try v.mapping(allowed: ["steps", "eval_every"], required: ["steps"])
                schedules[key] = Schedule(
                    steps: try stepsMap(sm["steps"]!),
                    evalEvery: try sm["eval_every"].map { try $0.int(in: 1...1_000_000) })
            }
        }
        var blocks: [Block] = []
        if let node = m["blocks"] {
            if let g = m["grid"] { throw g.fail("give the distilled columns in blocks, or grid without blocks") }
            for v in try node.list() {
                let bm = try v.mapping(
                    allowed: ["schedule", "lengths", "students", "grid"], required: ["lengths", "students"])
                let schedule = try bm["schedule"].map { n -> String in
                    let name = try n.string()
                    guard schedules[name] != nil else {
                        throw n.fail(
                            "'\(name)' is not one of the recipe's schedules ("
                                + (schedules.keys.sorted().joined(separator: ", ")) + ")")
                    }
                    return name
                }
                let ls = try bm["lengths"]!.list().map { n -> String in
                    let l = try n.string()
                    guard lengths.contains(l) else {
                        throw n.fail("'\(l)' is not one of the study's lengths (\(lengths.joined(separator: ", ")))")
                    }
                    return l
                }
                let ss = try bm["students"]!.list().map { n -> String in
                    let st = try n.string()
                    guard students.contains(where: { $0.0 == st }) else {
                        throw n.fail(
                            "'\(st)' is not one of the study's students ("
                                + students.map(\.0).joined(separator: ", ") + ")")
                    }
                    return st
                }
                guard !ls.isEmpty, !ss.isEmpty else { throw v.fail("a block needs lengths and students") }
                if let schedule, let missing = ls.first(where: { schedules[schedule]!.steps[$0] == nil }) {
                    throw v.fail("schedule '\(schedule)' gives no steps for \(missing)")
                }
                blocks.append(Block(schedule: schedule, lengths: ls, students: ss, grid: try gridList(bm["grid"])))
            }
            guard !blocks.isEmpty else { throw node.fail("expected one or more blocks") }
        }
        var convergence = Convergence()
        if let c = m["convergence"] {
            let cm = try c.mapping(allowed: ["window", "tolerance"])
            convergence.window = try cm["window"].map { try $0.double(in: 0.01...0.99) } ?? convergence.window
            convergence.tolerance = try cm["tolerance"].map { try $0.double(in: 0...1) } ?? convergence.tolerance
        }
        var realSpeech: URL?
        if let r = m["real_speech"] {
            let rm = try r.mapping(allowed: ["generate"], required: ["generate"])
            let u = try file(rm["generate"]!)
            let realRecipe = try Recipe.load(u)
            for (v, n) in zip(lengthValues, lengths) where realRecipe.variant(n) == nil {
                throw v.fail("'\(n)' is not a variant of \(u.lastPathComponent), the real-speech recipe")
            }
            realSpeech = u
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
            schedules: schedules, blocks: blocks, convergence: convergence, realSpeech: realSpeech,
            bootstrap: bootstrap)
    }

    public static let studentNames = ["lstm-p", "tc-resnet", "crnn", "att-rnn", "mhatt-rnn"]
}
