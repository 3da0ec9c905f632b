import Foundation
import TKDCore

extension ExampleRecord {
    /// The longest example a record may describe, in seconds (the recipes' cap on a variant's length).
    public static let maxSeconds = 3600
    /// Sample rates a record may have.
    public static let sampleRates = 1_000...384_000
    /// The longest id, in bytes: `<id>.<ext>` and its temporary name (`AtomicFile`) stay within 255 bytes.
    public static let maxIDBytes = 128
    /// The longest source clip a keyword may come from, in seconds.
    public static let maxSourceSeconds = 60

    /// One thing wrong with a record: the manifest field and what was seen against what was expected.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var field: String
        public var detail: String
        public var description: String { "'\(field)' \(detail)" }
    }

    /// Everything that makes the record unusable, checked with overflow-safe arithmetic before any mix,
    /// re-render, feature, cache or verify step reads samples by it: a plain id; a rate in `sampleRates`; a
    /// length of 1 sample to `maxSeconds`; relative paths without `..`; a one-second keyword window inside
    /// the example with the speech span inside it; noise segments, their sources and fades inside the
    /// example; a finite scale. Empty when the record is usable.
    public var problems: [Problem] {
        var out: [Problem] = []
        func fail(_ field: String, _ detail: String) { out.append(Problem(field: field, detail: detail)) }
        if (try? ContainedPath.checkName(id, field: "id")) == nil || id.utf8.count > Self.maxIDBytes {
            fail(
                "id",
                "is '\(id)'; expected a plain name of at most \(Self.maxIDBytes) bytes (no '/', not starting with '.')")
        }
        guard Self.sampleRates.contains(sampleRate) else {
            fail(
                "sample_rate",
                "is \(sampleRate); expected \(Self.sampleRates.lowerBound)…\(Self.sampleRates.upperBound)")
            return out
        }
        let maxSamples = Self.maxSeconds * sampleRate
        guard (1...maxSamples).contains(numSamples) else {
            fail(
                "num_samples",
                "is \(numSamples); expected 1…\(maxSamples) (\(Self.maxSeconds) s at \(sampleRate) Hz)")
            return out
        }
        if let why = ContainedPath.lexicalProblem(audio) {
            fail("audio", "is '\(audio)'; expected a dataset-relative path (\(why))")
        }
        if !scale.isFinite || scale <= 0 { fail("scale", "is \(scale); expected a finite positive factor") }
        /// `a..<b` with 0 ≤ a ≤ b ≤ limit, computed without overflow (b = a + length).
        func inside(_ a: Int, _ length: Int, _ limit: Int) -> Bool {
            guard a >= 0, length >= 0, case let (b, false) = a.addingReportingOverflow(length) else { return false }
            return b <= limit
        }
        if let k = keyword {
            if let why = ContainedPath.lexicalProblem(k.source) {
                fail("keyword.source", "is '\(k.source)'; expected a corpus-relative path (\(why))")
            }
            if !(1...(Self.maxSourceSeconds * sampleRate)).contains(k.sourceNumSamples) {
                fail(
                    "keyword.source_num_samples",
                    "is \(k.sourceNumSamples); expected 1…\(Self.maxSourceSeconds * sampleRate)")
            }
            if !inside(k.onsetSample, sampleRate, numSamples) || k.offsetSample != k.onsetSample &+ sampleRate {
                fail(
                    "keyword.onset_sample",
                    "[\(k.onsetSample), \(k.offsetSample)) is not a one-second window inside [0, \(numSamples))")
            } else if !(k.onsetSample <= k.speechOnsetSample && k.speechOnsetSample < k.speechOffsetSample
                && k.speechOffsetSample <= k.offsetSample)
            {
                fail(
                    "keyword.speech_onset_sample",
                    "[\(k.speechOnsetSample), \(k.speechOffsetSample)) is not inside the keyword window "
                        + "[\(k.onsetSample), \(k.offsetSample))")
            }
            if !k.gainDB.isFinite { fail("keyword.gain_db", "is \(k.gainDB); expected a finite gain") }
        }
        for (i, s) in noise.enumerated() {
            let f = "noise[\(i)]"
            // An absolute source comes from a recipe's absolute noise folder; where it may be read is the
            // resolver's decision (only inside the folders of a recipe passed with --recipe).
            if let why = ContainedPath.lexicalProblem(s.source, allowAbsolute: true) {
                fail("\(f).source", "is '\(s.source)'; expected a path without '..', empty parts or NUL (\(why))")
            }
            if !inside(s.destStartSample, s.numSamples, numSamples) {
                fail(
                    "\(f).dest_start_sample",
                    "[\(s.destStartSample), \(s.destStartSample) + \(s.numSamples)) leaves the example "
                        + "[0, \(numSamples))"
                )
            }
            if !(0...DatasetInfo.maxNoiseSamples).contains(s.sourceStartSample) {
                fail(
                    "\(f).source_start_sample",
                    "is \(s.sourceStartSample); expected a sample position 0…\(DatasetInfo.maxNoiseSamples)")
            }
            if !inside(s.fadeInSamples, s.fadeOutSamples, s.numSamples) {
                fail(
                    "\(f).fade_in_samples",
                    "fades \(s.fadeInSamples) + \(s.fadeOutSamples) do not fit the segment's \(s.numSamples) samples")
            }
            if !s.gainDB.isFinite { fail("\(f).gain_db", "is \(s.gainDB); expected a finite gain") }
        }
        if let labels, let labelIndices {
            if labels.isEmpty || labels.count != labelIndices.count {
                fail(
                    "labels",
                    "has \(labels.count) labels and \(labelIndices.count) label_indices; expected as many, ≥ 1")
            } else if labels[0] != label || labelIndices[0] != labelIndex {
                fail("labels", "starts with '\(labels[0])'; expected the example's label '\(label)' first")
            } else if zip(labelIndices, labelIndices.dropFirst()).contains(where: { $0 >= $1 }) {
                fail("label_indices", "is \(labelIndices); expected increasing label indices")
            }
        } else if labels != nil || labelIndices != nil {
            fail("labels", "comes without label_indices (or the other way round); expected both")
        }
        if let c = clip {
            if let why = ContainedPath.lexicalProblem(c.source) {
                fail("clip.source", "is '\(c.source)'; expected a corpus-relative path (\(why))")
            }
            if !Self.sampleRates.contains(c.sourceSampleRate) {
                fail("clip.source_sample_rate", "is \(c.sourceSampleRate); expected a rate in \(Self.sampleRates)")
            }
            if !(1...maxSamples).contains(c.clipNumSamples) {
                fail("clip.clip_num_samples", "is \(c.clipNumSamples); expected 1…\(maxSamples)")
            } else if !inside(c.startSample, c.numSamples, c.clipNumSamples) || c.numSamples < 1
                || c.numSamples > numSamples
            {
                fail(
                    "clip.start_sample",
                    "[\(c.startSample), +\(c.numSamples)) is not a stretch of the clip [0, \(c.clipNumSamples)) "
                        + "that fits the example's \(numSamples) samples")
            }
            if c.patches < 1 || !(0..<c.patches).contains(c.patch) {
                fail("clip.patch", "is \(c.patch) of \(c.patches); expected 0 ≤ patch < patches")
            }
            if (try? ContainedPath.checkName(c.id, field: "clip.id")) == nil {
                fail("clip.id", "is '\(c.id)'; expected a plain name")
            }
        }
        for (i, e) in (events ?? []).enumerated()
        where
            !(0 <= e.onsetSample && e.onsetSample < e.offsetSample
            && e.offsetSample <= numSamples)
        {
            fail("events[\(i)]", "[\(e.onsetSample), \(e.offsetSample)) is not a span inside [0, \(numSamples))")
        }
        return out
    }

    /// Throws the first of `problems`.
    /// - Parameter manifest: the manifest the record came from, for the message.
    /// - Throws: `DatasetFormatError.invalidRecord` naming the manifest, the id and the field.
    public func validate(manifest: String) throws {
        if let p = problems.first {
            throw DatasetFormatError.invalidRecord(path: manifest, id: id, field: p.field, detail: p.detail)
        }
    }
}
