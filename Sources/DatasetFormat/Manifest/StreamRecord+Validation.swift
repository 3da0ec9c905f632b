import Foundation
import TKDCore

extension StreamRecord {
    /// Everything that makes the record unusable, checked with overflow-safe arithmetic before any mix, re-render,
    /// detector or verify step reads samples by it: a plain id; a rate in `ExampleRecord.sampleRates`; a length of
    /// 1 sample to `StreamRecipe.maxStreamSeconds`; relative paths without `..`; noise segments and fades inside the
    /// stream; events whose one-second windows lie inside it, in time order and disjoint, each with its speech span
    /// inside its window and a finite gain; silences inside, in order, touching no event; a finite scale. Empty when
    /// the record is usable.
    public var problems: [ExampleRecord.Problem] {
        var out: [ExampleRecord.Problem] = []
        func fail(_ field: String, _ detail: String) { out.append(.init(field: field, detail: detail)) }
        if (try? ContainedPath.checkName(id, field: "id")) == nil || id.utf8.count > ExampleRecord.maxIDBytes {
            fail("id", "is '\(id)'; expected a plain name of at most \(ExampleRecord.maxIDBytes) bytes")
        }
        let rates = ExampleRecord.sampleRates
        guard rates.contains(sampleRate) else {
            fail("sample_rate", "is \(sampleRate); expected \(rates.lowerBound)…\(rates.upperBound)")
            return out
        }
        let maxSamples = Int(StreamRecipe.maxStreamSeconds) * sampleRate
        guard (1...maxSamples).contains(numSamples) else {
            fail("num_samples", "is \(numSamples); expected 1…\(maxSamples) (an hour at \(sampleRate) Hz)")
            return out
        }
        if let why = ContainedPath.lexicalProblem(audio) {
            fail("audio", "is '\(audio)'; expected a dataset-relative path (\(why))")
        }
        if !scale.isFinite || scale <= 0 { fail("scale", "is \(scale); expected a finite positive factor") }
        if noiseRepeatedSamples < 0 || noiseRepeatedSamples > numSamples {
            fail("noise_repeated_samples", "is \(noiseRepeatedSamples); expected 0…\(numSamples)")
        }
        func inside(_ a: Int, _ length: Int, _ limit: Int) -> Bool {
            guard a >= 0, length >= 0, case let (b, false) = a.addingReportingOverflow(length) else { return false }
            return b <= limit
        }
        for (i, s) in noise.enumerated() {
            let f = "noise[\(i)]"
            if let why = ContainedPath.lexicalProblem(s.source, allowAbsolute: true) {
                fail("\(f).source", "is '\(s.source)'; expected a path without '..', empty parts or NUL (\(why))")
            }
            if !inside(s.destStartSample, s.numSamples, numSamples) {
                fail("\(f).dest_start_sample", "[\(s.destStartSample), +\(s.numSamples)) leaves [0, \(numSamples))")
            }
            if !(0...DatasetInfo.maxNoiseSamples).contains(s.sourceStartSample) {
                fail(
                    "\(f).source_start_sample",
                    "is \(s.sourceStartSample); expected 0…\(DatasetInfo.maxNoiseSamples)")
            }
            if !inside(s.fadeInSamples, s.fadeOutSamples, s.numSamples) {
                fail("\(f).fade_in_samples", "fades do not fit the segment's \(s.numSamples) samples")
            }
            if !s.gainDB.isFinite { fail("\(f).gain_db", "is \(s.gainDB); expected a finite gain") }
        }
        var previousEnd = 0
        for (i, e) in events.enumerated() {
            let f = "events[\(i)]", k = e.placement
            if let why = ContainedPath.lexicalProblem(k.source) {
                fail("\(f).placement.source", "is '\(k.source)'; expected a corpus-relative path (\(why))")
            }
            if !(1...(ExampleRecord.maxSourceSeconds * sampleRate)).contains(k.sourceNumSamples) {
                fail(
                    "\(f).placement.source_num_samples", "is \(k.sourceNumSamples); expected a clip of at most a minute"
                )
            }
            guard inside(k.onsetSample, sampleRate, numSamples), k.offsetSample == k.onsetSample + sampleRate else {
                fail(
                    "\(f).placement.onset_sample",
                    "[\(k.onsetSample), \(k.offsetSample)) is not a one-second window inside [0, \(numSamples))")
                continue
            }
            if !(k.onsetSample <= k.speechOnsetSample && k.speechOnsetSample < k.speechOffsetSample
                && k.speechOffsetSample <= k.offsetSample)
            {
                fail(
                    "\(f).placement.speech_onset_sample",
                    "[\(k.speechOnsetSample), \(k.speechOffsetSample)) is not inside the window "
                        + "[\(k.onsetSample), \(k.offsetSample))")
            }
            if k.onsetSample < previousEnd {
                fail(
                    "\(f).placement.onset_sample",
                    "is \(k.onsetSample), before the previous event's window ends (\(previousEnd)); expected events in "
                        + "time order, their windows disjoint")
            }
            previousEnd = max(previousEnd, k.offsetSample)
            if !k.gainDB.isFinite { fail("\(f).placement.gain_db", "is \(k.gainDB); expected a finite gain") }
            if !e.snrDB.isFinite { fail("\(f).snr_db", "is \(e.snrDB); expected a finite SNR") }
            if e.kind == .target && (e.label == nil || e.labelIndex == nil) {
                fail("\(f).label", "is missing; expected a target's label and label_index")
            }
            if (e.label == nil) != (e.labelIndex == nil) {
                fail("\(f).label_index", "comes without its label (or the other way round); expected both or neither")
            }
        }
        var previousSilence = 0
        for (i, s) in silences.enumerated() {
            let f = "silences[\(i)]"
            guard s.onsetSample >= previousSilence, s.onsetSample < s.offsetSample, s.offsetSample <= numSamples else {
                fail(f, "[\(s.onsetSample), \(s.offsetSample)) is not a span inside [0, \(numSamples)) after the last")
                continue
            }
            previousSilence = s.offsetSample
            if let e = events.firstIndex(where: {
                $0.placement.onsetSample < s.offsetSample && s.onsetSample < $0.placement.offsetSample
            }) {
                fail(
                    f,
                    "[\(s.onsetSample), \(s.offsetSample)) overlaps events[\(e)]; expected silences apart from events")
            }
        }
        return out
    }

    /// Throws the first of `problems`.
    /// - Throws: `DatasetFormatError.invalidRecord` naming the manifest, the id and the field.
    public func validate(manifest: String) throws {
        if let p = problems.first {
            throw DatasetFormatError.invalidRecord(path: manifest, id: id, field: p.field, detail: p.detail)
        }
    }

    /// Every stream of a stream dataset in canonical order (training, validation, testing, each sorted by id),
    /// each validated. Splits the recipe gave no streams have empty manifests.
    /// - Throws: as `ExampleRecord.loadAll`.
    public static func loadAll(dataset: URL) throws -> [StreamRecord] {
        let layout = DatasetLayout(dataset)
        var out: [StreamRecord] = []
        for split in Split.allCases {
            let url = layout.manifest(split)
            guard let data = try RegularFile.contents(url) else {
                throw DatasetFormatError.missing(path: url.path, expected: DatasetInfo.madeBy)
            }
            let records = try CanonicalJSON.decodeLines(StreamRecord.self, from: data, path: url.path)
            for r in records {
                try r.validate(manifest: url.path)
                guard r.split == split else {
                    throw DatasetFormatError.invalidRecord(
                        path: url.path, id: r.id, field: "split",
                        detail: "is \(r.split.rawValue) in the \(split.rawValue) manifest")
                }
            }
            out += records.sorted { $0.id < $1.id }
        }
        return out
    }
}
