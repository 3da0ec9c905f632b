import DatasetFormat
import Foundation
import Layers
import Numerics
import TKDCore
import TrainingLoop

/// Per-example results of a checkpoint on one split (`tkd evaluate --details`): what a paired comparison of
/// two runs needs (which examples each got right), and how well the student's attention finds the keyword.
public struct EvaluationDetails: Codable, Equatable, Sendable {
    public var split: String
    /// The examples in evaluation order (the split's manifest order).
    public var ids: [String]
    /// SHA-256 of the ids joined by newlines: two runs are comparable example by example when it matches.
    public var idsSHA256: String
    public var labels: [Int]
    public var predicted: [Int]
    /// Each example's scores in label order: softmax probabilities, or sigmoid for a multi-label dataset (what
    /// an exported model's `probabilities` output gives, so that any runtime can be compared example by example).
    public var probabilities: [[Float]]
    /// The attention's localisation over the split's keyword examples, by head: `own` (Att-RNN's and
    /// MHAtt-RNN's α, the mean over heads) and `kd_head` (the training-only head, for runs with λ > 0).
    public var attention: [String: AttentionLocalisation]

    enum CodingKeys: String, CodingKey {
        case split, ids, labels, predicted, attention, probabilities
        case idsSHA256 = "ids_sha256"
    }

    public init(
        split: String, ids: [String], idsSHA256: String, labels: [Int], predicted: [Int], probabilities: [[Float]],
        attention: [String: AttentionLocalisation]
    ) {
        self.split = split
        self.ids = ids
        self.idsSHA256 = idsSHA256
        self.labels = labels
        self.predicted = predicted
        self.probabilities = probabilities
        self.attention = attention
    }

    public var accuracy: Double {
        ids.isEmpty ? 0 : Double(zip(labels, predicted).filter { $0 == $1 }.count) / Double(ids.count)
    }

    /// Correctness per example as hex, four examples per digit, the first example in the top bit.
    public var correctHex: String { Self.hex(zip(labels, predicted).map { $0 == $1 }) }

    /// `HexBits.encode`.
    public static func hex(_ bits: [Bool]) -> String { HexBits.encode(bits) }

    /// `HexBits.decode`: nil when `text` is not `count` examples' worth of hex digits.
    public static func bits(hex text: String, count: Int) -> [Bool]? { HexBits.decode(text, count: count) }

    public static func idsSHA256(_ ids: [String]) -> String { SHA256.hex(ids.joined(separator: "\n")) }
}

/// `RolloutLocalisation`'s figures for a student's attention.
public struct AttentionLocalisation: Codable, Equatable, Sendable {
    public var examples: Int
    public var massInSpeech: Double
    public var peakInSpeech: Double
    public var spanShare: Double

    enum CodingKeys: String, CodingKey {
        case examples
        case massInSpeech = "mass_in_speech", peakInSpeech = "peak_in_speech", spanShare = "span_share"
    }

    public init(examples: Int, massInSpeech: Double, peakInSpeech: Double, spanShare: Double) {
        self.examples = examples
        self.massInSpeech = massInSpeech
        self.peakInSpeech = peakInSpeech
        self.spanShare = spanShare
    }

    public init(_ l: RolloutLocalisation) {
        examples = l.examples
        massInSpeech = l.massInSpeech
        peakInSpeech = l.peakInSpeech
        spanShare = l.spanShare
    }
}

extension Evaluator {
    /// Predictions and attention localisation of `model` (loaded with its training-only head) on `split`.
    /// `info` is the checkpoint's; the KD head is scored when the run distilled into it (λ > 0, `kd.head`
    /// separate), the model's own α whenever it has one.
    public static func details(
        _ model: StudentModel, info: StudentCheckpoint, data: TrainingData, split: Split, batchSize: Int = 100,
        jobs: Int = 1
    ) throws -> EvaluationDetails {
        let ids = data.splits[split] ?? []
        let centres = info.student.contextCentres(frames: data.frames, frameCentre: data.frameCentre)
        let scoreHead = info.kdLambda > 0 && info.config.kd.head != .own  // nil is `separate`
        var predicted: [Int] = [], labels: [Int] = []
        var probabilities: [[Float]] = []
        let sigmoid = data.info.isMultiLabel
        var own = RolloutLocalisation(), head = RolloutLocalisation()
        var hasOwn = false
        let run = RunContext(mode: .inference, jobs: jobs, chunkSize: info.config.chunk)
        for start in stride(from: 0, to: ids.count, by: batchSize) {
            let group = Array(ids[start..<min(ids.count, start + batchSize)])
            let x = try data.batch(group)
            let out = try model.forward(x, run)
            let k = out.logits.shape[1]
            for (i, id) in group.enumerated() {
                let row = out.logits.data[(i * k)..<((i + 1) * k)]
                predicted.append(row.indices.max { row[$0] < row[$1] }! - i * k)
                labels.append(data.records[id]!.labelIndex)
                probabilities.append(Self.probabilities(Array(row), sigmoid: sigmoid))
            }
            var ownRows: [Float]?
            if let a = out.attention {
                ownRows = Objective.meanOverHeads(a)
                hasOwn = true
            }
            var headRows: [Float]?
            if scoreHead, let c = out.context {
                headRows = TemporalAttentionKD.studentAttention(
                    context: c.data, batch: c.batch, steps: c.shape[1], width: c.shape[2],
                    query: model.kdQuery.value, temperature: info.kdTemperature)
            }
            for (i, id) in group.enumerated() {
                guard let kw = data.records[id]!.keyword else { continue }
                for (rows, loc) in [(ownRows, 0), (headRows, 1)] {
                    guard let rows else { continue }
                    let t = rows.count / group.count
                    guard t == centres.count else { continue }
                    let v = Array(rows[(i * t)..<((i + 1) * t)])
                    if loc == 0 {
                        own.add(
                            v, centres: centres, speechOnset: kw.speechOnsetSample, speechOffset: kw.speechOffsetSample)
                    } else {
                        head.add(
                            v, centres: centres, speechOnset: kw.speechOnsetSample, speechOffset: kw.speechOffsetSample)
                    }
                }
            }
        }
        var attention: [String: AttentionLocalisation] = [:]
        if hasOwn && own.examples > 0 { attention["own"] = AttentionLocalisation(own) }
        if scoreHead && head.examples > 0 { attention["kd_head"] = AttentionLocalisation(head) }
        return EvaluationDetails(
            split: split.rawValue, ids: ids, idsSHA256: EvaluationDetails.idsSHA256(ids), labels: labels,
            predicted: predicted, probabilities: probabilities, attention: attention)
    }

    /// Softmax (or elementwise sigmoid) of one example's logits.
    public static func probabilities(_ logits: [Float], sigmoid: Bool) -> [Float] {
        if sigmoid { return logits.map { 1 / (1 + Foundation.exp(-$0)) } }
        let m = logits.max() ?? 0
        let e = logits.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }
}
