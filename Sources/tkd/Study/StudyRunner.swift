import ArgumentParser
import DatasetFormat
import Foundation
import Study
import TKDCore
import Training
import TrainingLoop
import Verify

/// What `tkd study` does, stage by stage, each through a child `tkd` (so every step resumes on its own).
struct StudyRunner {
    let recipe: StudyRecipe
    let root: URL
    let ledger: StudyLedger
    let jobs: Int
    let rerunStale: Bool
    let requireTeacherBar: Bool
    let stopAfterMinutes: Double?
    let shard: Shard
    /// Which lengths and targets (`none`, `oracle`, `teacher`) this invocation runs (nil: all); the table
    /// always covers the whole grid.
    var onlyLengths: Set<String>? = nil
    var onlyTargets: Set<String>? = nil
    var onlyStudents: Set<String>? = nil
    /// Schedule names; `default` is the recipe's default schedule.
    var onlySchedules: Set<String>? = nil
    /// The real-speech corpus (`--real-corpus`): the Speech Commands layout, testing speakers only.
    var realCorpus: URL? = nil
    /// Each dataset's manifest fingerprint, hashed once after its data are derived (a length's cells share it).
    let dataFingerprints = FingerprintMemo()

    func selected(_ k: CellKey) -> Bool {
        (onlyLengths?.contains(k.length) ?? true) && (onlyTargets?.contains(k.column.target) ?? true)
            && (onlyStudents?.contains(k.student) ?? true)
            && (onlySchedules?.contains(k.schedule ?? "default") ?? true)
    }

    var corpus: URL { root.appendingPathComponent("corpus") }
    func dataset(_ length: String) -> URL { root.appendingPathComponent("data").appendingPathComponent(length) }
    /// The length's real-speech test set (made from `--real-corpus` with the recipe's `real_speech.generate`).
    func realDataset(_ length: String) -> URL {
        root.appendingPathComponent("real").appendingPathComponent(length)
    }
    func teacherFolder(_ length: String) -> URL {
        root.appendingPathComponent("teachers").appendingPathComponent(length)
    }
    var runs: URL { root.appendingPathComponent("runs") }

    /// One student run of the grid.
    struct CellKey: Equatable {
        let length: String
        let student: String
        let config: URL
        let schedule: String?
        let column: StudyRecipe.Cell
        let seed: UInt64
    }

    /// The grid in run order: the baseline and oracle columns, then the teacher columns; within each, the
    /// recipe's plan order (lengths, students, schedules, columns) and seeds.
    var grid: [CellKey] {
        var out: [CellKey] = []
        let plan = recipe.plan
        for teacherColumns in [false, true] {
            for p in plan where (p.column.target == "teacher") == teacherColumns {
                for seed in recipe.seeds {
                    out.append(
                        CellKey(
                            length: p.length, student: p.student, config: recipe.config(p.student)!,
                            schedule: p.schedule, column: p.column, seed: seed))
                }
            }
        }
        return out
    }

    func fileName(_ k: CellKey) -> String {
        StudyCellEntry.fileName(
            study: recipe.name, length: k.length, student: k.student, column: k.column, seed: k.seed,
            schedule: k.schedule)
    }

    func pending(_ keys: [CellKey]) throws -> [CellKey] {
        try keys.filter { try ledger.read(StudyCellEntry.self, fileName($0)) == nil }
    }

    // MARK: stages

    /// Runs every pending cell; returns how many stopped before their last step (--stop-after-minutes).
    func runAll() throws -> Int {
        var stopped = 0
        let cells = grid.filter(selected)
        let todo = try pending(cells)
        let teachers = onlyTargets?.contains("teacher") ?? true
        let lengthsNeeded = recipe.lengths.filter { l in
            (onlyLengths?.contains(l) ?? true)
                && (todo.contains { $0.length == l }
                    || (teachers && ((try? teacherEntries(l)) ?? []).isEmpty))
        }
        say(
            "study '\(recipe.name)': \(cells.count) cells, \(cells.count - todo.count) in the ledger "
                + "(\(ledger.folder.path)); lengths to prepare: "
                + (lengthsNeeded.isEmpty ? "none" : lengthsNeeded.joined(separator: ", "))
        )
        // Length by length, so that a sitting that ends early leaves whole lengths behind: the λ = 0 cells, then
        // the teacher (whose bar needs them) and its cells right away (a teacher retrained on another CPU may
        // differ in the last bits), then the oracle cells, which need no teacher.
        for length in lengthsNeeded {
            try prepareData(length)
            try prepareRealSpeech(length)
            // Pending again: --rerun-stale may have removed entries while preparing.
            let todo = try pending(cells.filter { $0.length == length })
            for key in todo where key.column.lambda == 0 {
                if !(try runCell(key)) { stopped += 1 }
            }
            let haveEntry = !(try teacherEntries(length)).isEmpty
            if todo.contains(where: { $0.column.target == "teacher" }) || (teachers && !haveEntry) {
                try prepareTeacher(length)
                let teacherCells = try pending(cells.filter { $0.length == length && $0.column.target == "teacher" })
                for key in teacherCells where try teacherCellsAllowed(length, schedule: key.schedule) {
                    if !(try runCell(key)) { stopped += 1 }
                }
            }
            for key in todo where key.column.lambda > 0 && key.column.target != "teacher" {
                if !(try runCell(key)) { stopped += 1 }
            }
        }
        return stopped
    }

    /// Data, features, verification and teachers of every length (the cluster's first job).
    func prepare() throws {
        for length in recipe.lengths {
            try prepareData(length)
            try prepareRealSpeech(length)
        }
        for length in recipe.lengths { try prepareTeacher(length) }
    }

    /// The shard's cells; the data and teachers must be prepared. Returns how many stopped early.
    func runCells() throws -> Int {
        var stopped = 0
        let mine = try pending(
            grid.enumerated().filter { $0.offset % shard.count == shard.index }.map(\.element).filter(selected))
        say("study '\(recipe.name)' shard \(shard): \(mine.count) pending cell(s)")
        for key in mine {
            guard FileManager.default.fileExists(atPath: DatasetLayout(dataset(key.length)).info.path) else {
                throw StudyError.mismatch(
                    what: dataset(key.length).path, reason: "not prepared; run tkd study --stage prepare first")
            }
            if key.column.target == "teacher", !(try teacherCellsAllowed(key.length, schedule: key.schedule)) {
                continue
            }
            if !(try runCell(key)) { stopped += 1 }
        }
        return stopped
    }

    // MARK: data

    var corpusArguments: [String] {
        let c = recipe.corpus
        return [
            "corpus", "demo", "--out", corpus.path, "--speakers", String(c.speakers), "--utterances",
            String(c.utterances), "--engines", c.engines.joined(separator: ","), "--held-out", String(c.heldOut),
            "--reverb", String(c.reverb), "--seed", String(c.seed), "--jobs", String(jobs), "-q",
        ]
    }

    func prepareData(_ length: String) throws {
        try timed("corpus") { try tkd(corpusArguments) }
        try timed("corpus index") {
            try tkd(["corpus", "index", corpus.path, "--strict", "--jobs", String(jobs), "-q"])
        }
        let d = dataset(length)
        try timed("generate \(length)") {
            try tkd([
                "generate", "--recipe", recipe.generate.path, "--corpus", corpus.path, "--out", d.path, "--variant",
                length, "--jobs", String(jobs), "-q",
            ])
        }
        for preset in try presets() {
            try timed("features \(length) \(preset)") {
                try tkd(["features", "--dataset", d.path, "--preset", preset, "--jobs", String(jobs), "-q"])
            }
        }
        // Verified once per dataset state: the marker holds the manifests' and the feature stores' fingerprints.
        // (Kept in the study's folder: generate clears the dataset's work folder.)
        let marker = root.appendingPathComponent(".verified-\(length)")
        dataFingerprints.byPath[d.path] = nil
        var state = try dataFingerprint(d)
        for preset in try presets() {
            state +=
                " "
                + (try SHA256.hex(fileAt: DatasetLayout(d).featureStore(preset).appendingPathComponent("index.json")))
        }
        if (try? String(contentsOf: marker, encoding: .utf8)) != state {
            try timed("verify \(length)") {
                try tkd(["verify", "--dataset", d.path, "--corpus", corpus.path, "--jobs", String(jobs), "-q"])
            }
            try AtomicFile.write(Data(state.utf8), to: marker)
        }
        // Entries of this length must have been made from the data just derived.
        for key in grid where key.length == length && key.column.target != "teacher" {
            try checkStale(key, teacher: nil)
        }
    }

    /// The length's real-speech test set, made from `--real-corpus` with the recipe's `real_speech.generate`
    /// (only a testing split: never trained, selected or tuned on), its feature stores, and one verification per
    /// state. Nothing without `real_speech:`.
    func prepareRealSpeech(_ length: String) throws {
        guard let generate = recipe.realSpeech else { return }
        guard let realCorpus else {
            throw StudyError.mismatch(
                what: "--real-corpus",
                reason:
                    "the recipe scores every cell on real speech (real_speech: \(generate.lastPathComponent)); "
                    + "expected --real-corpus DIR (the Speech Commands layout, e.g. "
                    + "../shared/real/speech-commands-v2-test-dev)")
        }
        let d = realDataset(length)
        try timed("real speech \(length)") {
            try tkd([
                "generate", "--recipe", generate.path, "--corpus", realCorpus.path, "--out", d.path, "--variant",
                length, "--jobs", String(jobs), "-q",
            ])
            for preset in try presets() {
                try tkd(["features", "--dataset", d.path, "--preset", preset, "--jobs", String(jobs), "-q"])
            }
        }
        let marker = root.appendingPathComponent(".verified-real-\(length)")
        dataFingerprints.byPath[d.path] = nil
        var state = try dataFingerprint(d)
        for preset in try presets() {
            state +=
                " "
                + (try SHA256.hex(fileAt: DatasetLayout(d).featureStore(preset).appendingPathComponent("index.json")))
        }
        if (try? String(contentsOf: marker, encoding: .utf8)) != state {
            try timed("verify real speech \(length)") {
                try tkd(["verify", "--dataset", d.path, "--corpus", realCorpus.path, "--jobs", String(jobs), "-q"])
            }
            try AtomicFile.write(Data(state.utf8), to: marker)
        }
    }

    /// The length's teacher scored on its real-speech test set (through a teacher cache of that set).
    func teacherRealSpeech(_ length: String) throws -> RealSpeechOutcome? {
        guard recipe.realSpeech != nil else { return nil }
        let r = realDataset(length)
        try timed("teacher cache real speech \(length)") {
            try tkd([
                "teacher", "cache", "--dataset", r.path, "--teacher", teacherFolder(length).path, "--jobs",
                String(jobs), "-q",
            ])
        }
        let (info, _) = try teacherCache(length, dataset: r)
        guard let accuracy = info.summary?.testAccuracy else {
            throw StudyError.mismatch(
                what: r.path, reason: "teacher cache \(info.fingerprint.prefix(16)) has no test accuracy")
        }
        let ids = try DatasetInfo.loadManifests(r).filter { $0.split == .testing }.map(\.id)
        return RealSpeechOutcome(
            accuracy: accuracy, examples: ids.count, idsSHA256: EvaluationDetails.idsSHA256(ids), correct: nil,
            data: try dataFingerprint(r))
    }

    func presets() throws -> [String] {
        var out: [String] = []
        for (_, config) in recipe.students {
            let p = try TrainConfig.load(config).features
            if !out.contains(p) { out.append(p) }
        }
        return out
    }

    // MARK: teachers

    func teacherName(_ length: String) -> String { StudyTeacherEntry.fileName(study: recipe.name, length: length) }

    /// Every recorded teacher of the length, the first sitting's first.
    func teacherEntries(_ length: String) throws -> [StudyTeacherEntry] {
        try ledger.teachers(study: recipe.name, length: length).map(\.entry)
    }

    /// Trains (base length) or fine-tunes (other lengths) the length's teacher, caches it and records it.
    func prepareTeacher(_ length: String) throws {
        let base = recipe.teacher.base
        if length != base {
            try prepareData(base)
            try trainTeacher(base)
        }
        let t0 = Date()
        try trainTeacher(length)
        let d = dataset(length)
        try timed("teacher cache \(length)") {
            try tkd([
                "teacher", "cache", "--dataset", d.path, "--teacher", teacherFolder(length).path, "--jobs",
                String(jobs), "-q",
            ])
        }
        let (info, _) = try teacherCache(length)
        guard let s = info.summary else {
            throw StudyError.mismatch(
                what: d.path, reason: "teacher cache \(info.fingerprint.prefix(16)) has no summary")
        }
        var entry = StudyTeacherEntry(
            study: recipe.name, length: length, tool: "tkd \(TKDVersion.current)",
            fingerprints: StudyFingerprints(
                data: try dataFingerprint(d), teacher: info.fingerprint),
            made: length == base
                ? "trained"
                : "fine-tuned from \(base) (weights \(try baseWeights().prefix(16)))",
            validationAccuracy: s.validationAccuracy,
            testAccuracy: s.testAccuracy,
            validation: s.validationPeakInSpeech.map { _ in
                AttentionLocalisation(
                    examples: s.validationExamplesWithKeyword ?? 0, massInSpeech: s.validationMassInSpeech ?? 0,
                    peakInSpeech: s.validationPeakInSpeech ?? 0, spanShare: s.validationSpanShare ?? 0)
            },
            all: AttentionLocalisation(
                examples: s.examplesWithKeyword, massInSpeech: s.massInSpeech, peakInSpeech: s.peakInSpeech,
                spanShare: s.spanShare),
            rolloutRow: info.rolloutRow?.rawValue, wallSeconds: Date().timeIntervalSince(t0), machine: Machine.name)
        entry.realSpeech = try teacherRealSpeech(length)
        let recorded = try ledger.teachers(study: recipe.name, length: length)
        if let same = recorded.first(where: { $0.entry.fingerprints == entry.fingerprints }) {
            if same.entry.realSpeech == nil, let real = entry.realSpeech {
                // The same teacher (same cache fingerprint): the entry gains its real-speech score only.
                var old = same.entry
                old.realSpeech = real
                try ledger.write(old, same.name)
            }
        } else if recorded.isEmpty {
            try ledger.write(entry, teacherName(length))
        } else if recorded.contains(where: { $0.entry.fingerprints.data == entry.fingerprints.data }) {
            // The same data and recipe, another teacher: retrained on a CPU whose BLAS kernels give other last
            // bits. It is recorded beside the earlier one; every teacher-target cell pairs with the teacher it was
            // trained on (its fingerprint), so the earlier cells stay valid.
            try ledger.write(
                entry, StudyTeacherEntry.fileName(study: recipe.name, length: length, fingerprint: info.fingerprint))
            say(
                "teacher \(length): this sitting's teacher (cache \(info.fingerprint.prefix(12))) differs in its last "
                    + "bits from the recorded one (another CPU's kernels); recorded beside it")
        } else {
            let old = recorded[0]
            guard rerunStale else {
                let (field, a, b) = old.entry.fingerprints.mismatch(entry.fingerprints) ?? ("teacher", "?", "?")
                throw StudyError.stale(path: ledger.url(old.name).path, field: field, recorded: a, now: b)
            }
            try ledger.write(entry, teacherName(length))
        }
        say(
            String(
                format: "teacher %@ (%@): validation %.1f %%, test %.1f %%; rollout peak inside the speech span for "
                    + "%.1f %% of validation keyword examples, mass %.1f %% (uniform %.1f %%)",
                length, entry.made, 100 * (entry.validationAccuracy ?? 0), 100 * (entry.testAccuracy ?? 0),
                100 * (entry.validation?.peakInSpeech ?? 0), 100 * (entry.validation?.massInSpeech ?? 0),
                100 * (entry.validation?.spanShare ?? 0))
                + (entry.realSpeech.map { String(format: "; real speech %.1f %%", 100 * $0.accuracy) } ?? ""))
        for key in grid where key.length == length && key.column.target == "teacher" {
            try checkStale(key, teacher: info.fingerprint)
        }
    }

    /// SHA-256 of the base length's teacher weights (the fine-tuned teachers' starting point; a sitting on another
    /// CPU may retrain it with other last bits).
    func baseWeights() throws -> String {
        try SHA256.hex(fileAt: ModelFolderLayout(teacherFolder(recipe.teacher.base)).weights)
    }

    func trainTeacher(_ length: String) throws {
        let base = recipe.teacher.base
        var args = ["teacher", "train", "--dataset", dataset(length).path, "--out", teacherFolder(length).path]
        if length == base {
            args += ["--config", recipe.teacher.config.path]
        } else {
            args += ["--config", recipe.teacher.finetune!.path, "--init", teacherFolder(base).path]
        }
        try timed("teacher train \(length)") { try tkd(args + ["--jobs", String(jobs), "-q"]) }
    }

    /// The length's teacher cache: the one made from `teachers/<length>` (the dataset may hold others).
    func teacherCache(_ length: String, dataset other: URL? = nil) throws -> (TeacherCacheInfo, URL) {
        let layout = DatasetLayout(other ?? dataset(length))
        let weights = try SHA256.hex(fileAt: ModelFolderLayout(teacherFolder(length)).weights)
        for folder in layout.teacherCaches {
            if let info = try? TeacherCacheInfo.load(folder), info.weightsSHA256 == weights { return (info, folder) }
        }
        throw StudyError.mismatch(
            what: layout.teachersFolder.path, reason: "no cache of the teacher in \(teacherFolder(length).path)")
    }

    /// Whether the length's teacher-target cells of a schedule may run: always, unless --require-teacher-bar and
    /// the bar fails (against that schedule's λ = 0 students).
    func teacherCellsAllowed(_ length: String, schedule: String?) throws -> Bool {
        let current = try? teacherCache(length).0.fingerprint
        guard let bar = try teacherBar(length, schedule: schedule, teacher: current) else { return true }
        say(
            "teacher bar at \(length), \(schedule ?? "default") schedule: "
                + "\(bar.met.map { $0 ? "met" : "NOT met" } ?? "pending") (\(bar.reason))")
        if bar.met == false && requireTeacherBar {
            throw StudyError.teacherBelowBar(length: length, reason: bar.reason)
        }
        return true
    }

    /// The length's teacher bar from the ledger (the teacher entry against the best λ = 0 student's mean
    /// validation accuracy on the same schedule: a longer schedule's students set a higher bar); the entry of
    /// the `teacher` cache fingerprint when it is recorded, else the first; nil without a teacher entry.
    func teacherBar(_ length: String, schedule: String?, teacher: String?) throws -> (met: Bool?, reason: String)? {
        let entries = try teacherEntries(length)
        guard let t = entries.first(where: { $0.fingerprints.teacher == teacher }) ?? entries.first else {
            return nil
        }
        let baseline = try ledger.cells(study: recipe.name).filter {
            $0.length == length && $0.lambda == 0 && $0.schedule == schedule
        }
        let best = Dictionary(grouping: baseline, by: \.student).mapValues {
            StudyStatistics.meanSD($0.map(\.validationAccuracy)).mean
        }.values.max()
        return StudySummary.teacherBar(entry: t, bestBaseline: best, peak: recipe.teacher.peakInSpan)
    }

    // MARK: cells

    /// The fingerprints a cell's entry must carry in this sitting.
    func fingerprints(_ key: CellKey, teacher: String?) throws -> StudyFingerprints {
        let d = dataset(key.length)
        let config = try TrainConfig.load(key.config)
        let store = DatasetLayout(d).featureStore(config.features)
        var storeConfig = try FeatureStoreConfig.read(store.appendingPathComponent(FeatureStoreConfig.fileName))
        storeConfig.tool = ""  // the same features, whichever tkd wrote them
        // The parsed config with the cell's overrides (comments and key order do not count).
        var c = config
        c.name = ""
        c.seed = key.seed
        c.kd.lambda = Float(key.column.lambda)
        if let steps = recipe.steps(length: key.length, schedule: key.schedule) { c.steps = steps }
        if let every = key.schedule.flatMap({ recipe.schedules[$0]?.evalEvery }) { c.evalEvery = every }
        let configText =
            String(decoding: try CanonicalJSON.encodePretty(c), as: UTF8.self) + "|target=\(key.column.target)"
        return StudyFingerprints(
            data: try dataFingerprint(d),
            features: SHA256.hex(try CanonicalJSON.encodePretty(storeConfig)),
            teacher: key.column.target == "teacher" ? teacher : nil, config: SHA256.hex(configText))
    }

    func dataFingerprint(_ d: URL) throws -> String {
        if let known = dataFingerprints.byPath[d.path] { return known }
        let f = try ManifestFingerprint.sha256(dataset: d)
        dataFingerprints.byPath[d.path] = f
        return f
    }

    /// Refuses (or, with --rerun-stale, removes) an entry made from other inputs.
    func checkStale(_ key: CellKey, teacher: String?) throws {
        let name = fileName(key)
        guard let entry = try ledger.read(StudyCellEntry.self, name) else { return }
        var now = try fingerprints(key, teacher: teacher)
        // A teacher-target cell trained on an earlier sitting's teacher stays valid while that teacher is recorded
        // for the same data.
        if key.column.target == "teacher", let own = entry.fingerprints.teacher, own != teacher,
            try teacherEntries(key.length).contains(where: {
                $0.fingerprints.teacher == own && $0.fingerprints.data == now.data
            })
        {
            now = try fingerprints(key, teacher: own)
        }
        guard let (field, a, b) = entry.fingerprints.mismatch(now) else { return }
        guard rerunStale else { throw StudyError.stale(path: ledger.url(name).path, field: field, recorded: a, now: b) }
        say("stale ledger entry \(name) (\(field)); running it again")
        try ledger.remove(name)
    }

    func runName(_ k: CellKey) -> String {
        "\(k.length)-\(k.student)-\(k.column.slug)-s\(k.seed)\(k.schedule.map { "-\($0)" } ?? "")"
    }

    /// Trains, evaluates and records one cell; false when the run stopped before its last step.
    func runCell(_ key: CellKey) throws -> Bool {
        let t0 = Date()
        let d = dataset(key.length)
        var teacher: String?
        var args = [
            "train", "--dataset", d.path, "--config", key.config.path, "--runs", runs.path, "--name", runName(key),
            "--seed", String(key.seed), "--kd-lambda", String(key.column.lambda), "--jobs", String(jobs), "-q",
        ]
        if key.column.lambda > 0 {
            if key.column.target == "teacher" {
                let (info, _) = try teacherCache(key.length)
                teacher = info.fingerprint
                args += ["--kd-target", "teacher:\(info.fingerprint)"]
            } else {
                args += ["--kd-target", "oracle"]
            }
        }
        if let steps = recipe.steps(length: key.length, schedule: key.schedule) { args += ["--steps", String(steps)] }
        if let every = key.schedule.flatMap({ recipe.schedules[$0]?.evalEvery }) {
            args += ["--eval-every", String(every)]
        }
        if let stopAfterMinutes { args += ["--stop-after-minutes", String(stopAfterMinutes)] }
        try tkd(args)
        let layout = RunLayout(runs: runs, name: runName(key))
        guard let m = try RegularFile.contents(layout.metrics) else {
            say("  \(runName(key)) stopped before its last step; run tkd study again to resume it")
            return false
        }
        let metrics = try JSONDecoder().decode(RunMetrics.self, from: m)
        let detailsURL = layout.folder.appendingPathComponent("test-details.json")
        try tkd([
            "evaluate", "--checkpoint", layout.checkpoint(RunLayout.best).path, "--dataset", d.path, "--split",
            "testing", "--out", layout.folder.appendingPathComponent("test-metrics.json").path, "--details",
            detailsURL.path, "--jobs", String(jobs), "-q",
        ])
        let details = try JSONDecoder().decode(EvaluationDetails.self, from: Data(contentsOf: detailsURL))
        guard abs(details.accuracy - metrics.test.accuracy) < 1e-9 else {
            throw StudyError.mismatch(
                what: detailsURL.path,
                reason: "accuracy \(details.accuracy) differs from metrics.json's \(metrics.test.accuracy)")
        }
        var met: Bool?
        if key.column.target == "teacher" {
            met = try teacherBar(key.length, schedule: key.schedule, teacher: teacher)?.met
        }
        let curve = try RegularFile.contents(layout.history).map {
            try CanonicalJSON.decodeLines(HistoryEntry.self, from: $0, path: layout.history.path)
                .map { [Double($0.step), $0.validationAccuracy] }
        }
        var real: RealSpeechOutcome?
        if recipe.realSpeech != nil {
            let r = realDataset(key.length)
            let realDetails = layout.folder.appendingPathComponent("real-speech-details.json")
            try tkd([
                "evaluate", "--checkpoint", layout.checkpoint(RunLayout.best).path, "--dataset", r.path, "--split",
                "testing", "--out", layout.folder.appendingPathComponent("real-speech-metrics.json").path,
                "--details", realDetails.path, "--jobs", String(jobs), "-q",
            ])
            let d = try JSONDecoder().decode(EvaluationDetails.self, from: Data(contentsOf: realDetails))
            real = RealSpeechOutcome(
                accuracy: d.accuracy, examples: d.ids.count, idsSHA256: d.idsSHA256, correct: d.correctHex,
                data: try dataFingerprint(r))
        }
        let entry = StudyCellEntry(
            study: recipe.name, length: key.length, student: key.student, lambda: key.column.lambda,
            target: key.column.target, seed: key.seed, tool: "tkd \(TKDVersion.current)",
            fingerprints: try fingerprints(key, teacher: teacher), steps: metrics.steps, bestStep: metrics.bestStep,
            validationAccuracy: metrics.validation.accuracy, testAccuracy: metrics.test.accuracy,
            test: .init(examples: details.ids.count, idsSHA256: details.idsSHA256, correct: details.correctHex),
            attention: details.attention, teacherMetBar: met, wallSeconds: Date().timeIntervalSince(t0),
            machine: Machine.name, schedule: key.schedule, validationCurve: curve, realSpeech: real)
        try ledger.write(entry, fileName(key))
        say(
            String(
                format: "  %@: validation %.1f %%, test %.1f %%%@ (best step %d of %d, %.1f min)", runName(key),
                100 * entry.validationAccuracy, 100 * entry.testAccuracy,
                real.map { String(format: ", real speech %.1f %%", 100 * $0.accuracy) } ?? "", entry.bestStep,
                entry.steps, entry.wallSeconds / 60))
        return true
    }

    // MARK: report

    @discardableResult
    func report() throws -> StudySummary {
        let teachers = try recipe.lengths.flatMap { try teacherEntries($0) }
        let summary = StudySummary.make(recipe: recipe, cells: try ledger.cells(study: recipe.name), teachers: teachers)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try AtomicFile.write(try CanonicalJSON.encodePretty(summary), to: root.appendingPathComponent("study.json"))
        let md = "# Study '\(recipe.name)'\n\n" + summary.markdown + (try provenance())
        try AtomicFile.write(Data(md.utf8), to: root.appendingPathComponent("study.md"))
        let page = StudyPage(summary: summary, examples: try figure2Examples())
        try AtomicFile.write(Data(page.html().utf8), to: root.appendingPathComponent("study.html"))
        return summary
    }

    /// Where the ledger's results were made, and how long each stage and the cells took.
    func provenance() throws -> String {
        let cells = try ledger.cells(study: recipe.name)
        let teachers = try recipe.lengths.flatMap { try teacherEntries($0) }
        let stages = try ledger.read(StudyStages.self, StudyStages.fileName(study: recipe.name))?.stages ?? [:]
        var s = "## Provenance\n\n"
        s += "- tools: \(Set(cells.map(\.tool) + teachers.map(\.tool)).sorted().joined(separator: ", "))\n"
        s += "- machines: \(Set(cells.map(\.machine) + teachers.map(\.machine)).sorted().joined(separator: "; "))\n\n"
        s += "| stage | wall time (min) | machine |\n|---|---|---|\n"
        for (name, st) in stages.sorted(by: { $0.key < $1.key }) {
            s += String(format: "| %@ | %.1f | %@ |\n", name, st.seconds / 60, st.machine)
        }
        for t in teachers {
            s += String(
                format: "| teacher %@ (%@; = its train + cache stages) | %.1f | %@ |\n", t.length, t.made,
                t.wallSeconds / 60, t.machine)
        }
        for length in recipe.lengths {
            for (student, _) in recipe.students {
                let mine = cells.filter { $0.length == length && $0.student == student }
                guard !mine.isEmpty else { continue }
                s += String(
                    format: "| %@ %@: %d runs (train + test details) | %.1f | %@ |\n", length, student, mine.count,
                    mine.map(\.wallSeconds).reduce(0, +) / 60,
                    Set(mine.map(\.machine)).sorted().joined(separator: "; "))
            }
        }
        // The teacher rows repeat the teachers' train and cache stages (the sitting that made the entry): the
        // total counts the stages and the cells.
        let stageSeconds: Double = stages.values.map(\.seconds).reduce(0, +)
        let cellSeconds: Double = cells.map(\.wallSeconds).reduce(0, +)
        let total = stageSeconds + cellSeconds
        s += String(format: "| **total** | **%.1f** | |\n", total / 60)
        return s
    }

    /// Fig. 2-style figures for the first two test keyword examples of the longest length: the teacher's
    /// rollout and the attention of the first seed's distilled runs (none when that length's runs are not on
    /// this machine).
    func figure2Examples() throws -> [String] {
        guard let longest = recipe.lengths.last, let seed = recipe.seeds.first else { return [] }
        let d = dataset(longest)
        guard FileManager.default.fileExists(atPath: DatasetLayout(d).info.path) else { return [] }
        let folders = grid.filter { $0.length == longest && $0.seed == seed && $0.column.lambda > 0 }
            .map { RunLayout(runs: runs, name: runName($0)) }
            .filter { FileManager.default.fileExists(atPath: $0.metrics.path) }.map(\.folder)
        guard !folders.isEmpty else { return [] }
        let picks = try DatasetInfo.loadManifests(d).filter { $0.split == .testing && $0.keyword != nil }.prefix(2)
        var report = DatasetReport(dataset: d)
        return try picks.enumerated().map { i, r in
            report.runs = try ReportCommand.loadRuns(folders, dataset: d, example: r.id)
            return try report.figure2HTML(example: r.id, heading: i == 0)
        }
    }

    // MARK: helpers

    /// Runs `tkd ARGS` as a child process.
    func tkd(_ args: [String]) throws {
        // The children never shard themselves from a Slurm array's variables: the study decides the shard.
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("SLURM_ARRAY_") { env[key] = nil }
        try ChildTKD.run(args, resuming: "tkd study", environment: env)
    }

    /// Runs a stage and records its wall time in the ledger the first time it does real work (over 2 s).
    func timed(_ stage: String, _ body: () throws -> Void) throws {
        let t0 = Date()
        try body()
        let seconds = Date().timeIntervalSince(t0)
        guard seconds > 2 else { return }
        let name = StudyStages.fileName(study: recipe.name)
        var stages = try ledger.read(StudyStages.self, name) ?? StudyStages(study: recipe.name, stages: [:])
        guard stages.stages[stage] == nil else { return }
        stages.stages[stage] = .init(seconds: seconds, machine: Machine.name, tool: "tkd \(TKDVersion.current)")
        try ledger.write(stages, name)
    }
}

/// Fingerprints computed once per run of `tkd study` (a reference shared by the runner's copies).
final class FingerprintMemo {
    var byPath: [String: String] = [:]
}

/// A short description of this machine for the ledger: CPU model and core count.
enum Machine {
    static let name: String = {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) }
        return "\(cpu ?? "unknown CPU"), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }()
}
