import ArgumentParser
import AudioIO
import Foundation
import TensorStore
import Teacher
import TKDCore

extension Rollout.Fusion: ExpressibleByArgument {}
extension Rollout.Query: ExpressibleByArgument {}

/// `tkd teacher …`: the wav2vec 2.0 teacher.
struct TeacherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teacher",
        abstract: "The wav2vec 2.0 teacher: per-layer attentions and attention rollout from a Hugging Face model folder.",
        subcommands: [TeacherAttentionsCommand.self])
}

/// Rollout settings shared by the teacher commands.
struct RolloutOptions: ParsableArguments {
    @Option(help: "Head fusion per layer: mean, max or min.")
    var fusion: Rollout.Fusion = .mean

    @Option(help: "Residual weight w in (1 − w)·A + w·I.")
    var residual: Float = 0.5

    @Option(help: "Share of each row's smallest attentions set to zero before the residual (the diagonal is kept).")
    var discard: Float = 0

    @Option(help: "Query row: first, mean, or auto (mean for the mean-pooling classification head).")
    var query: Rollout.Query = .auto

    var rollout: Rollout { Rollout(fusion: fusion, residual: residual, discard: discard, query: query) }

    func validate() throws {
        guard residual >= 0 && residual <= 1 else { throw ValidationError("--residual must be in [0, 1]; got \(residual).") }
        guard discard >= 0 && discard < 1 else { throw ValidationError("--discard must be in [0, 1); got \(discard).") }
    }
}

/// `tkd teacher attentions --teacher DIR FILE --out F.safetensors [--rollout] [rollout options] [--resample]`
struct TeacherAttentionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attentions",
        abstract: "Run the teacher on one audio file: logits, per-layer attentions and, with --rollout, the rollout vector.",
        discussion: """
        Writes a safetensors file with `logits` [labels] (when the model has a classification head), `layer.<i>` \
        [heads, T, T] for every layer (rows are queries) and, with --rollout, `rollout` [T] (sums to 1). The \
        waveform goes in as read (16 kHz; no normalisation).
        """)

    @Option(help: "A Hugging Face wav2vec 2.0 model folder (config.json + model.safetensors).")
    var teacher: String

    @Argument(help: "An audio file (16 kHz, or any rate with --resample).")
    var file: String

    @Option(help: "Output .safetensors file.")
    var out: String

    @Flag(help: "Also write the attention rollout.")
    var rollout = false

    @OptionGroup var rolloutOptions: RolloutOptions

    @Flag(help: "Resample to 16 kHz instead of refusing other rates.")
    var resample = false

    func run() throws {
        let model = try Wav2Vec2Model(folder: URL(fileURLWithPath: teacher))
        let audio = try AudioReader.read(URL(fileURLWithPath: file), options: AudioReadOptions(sampleRate: 16_000, allowResample: resample))
        let output = try model.forward(audio.samples)
        let t = output.frames, heads = model.config.heads
        var tensors: [SafeTensors.Tensor] = []
        if let logits = output.logits { tensors.append(.init(name: "logits", shape: [logits.count], values: logits)) }
        for (i, a) in output.attentions.enumerated() { tensors.append(.init(name: "layer.\(i)", shape: [heads, t, t], values: a)) }
        var vector: [Float]?
        if rollout {
            vector = rolloutOptions.rollout.vector(output.attentions, heads: heads, frames: t, meanPooling: true)
            tensors.append(.init(name: "rollout", shape: [t], values: vector!))
        }
        let data = SafeTensors.encode(tensors, metadata: ["format": "tkd-teacher-attentions/1", "teacher": teacher,
                                                          "frames": String(t), "file": file])
        try AtomicFile.write(data, to: URL(fileURLWithPath: out))
        var line = "\(file): \(t) frames, \(model.config.layers) layers × \(heads) heads"
        if let logits = output.logits, let best = logits.indices.max(by: { logits[$0] < logits[$1] }) {
            line += ", top class \(model.config.id2label[best] ?? String(best))"
        }
        if let v = vector, let peak = v.indices.max(by: { v[$0] < v[$1] }) {
            line += ", rollout peak at frame \(peak) of \(t)"
        }
        say(line)
        say("wrote \(out)")
    }
}
