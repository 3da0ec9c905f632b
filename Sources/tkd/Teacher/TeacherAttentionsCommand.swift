import ArgumentParser
import AudioIO
import DatasetFormat
import Foundation
import Layers
import TKDCore
import Teacher
import TensorStore

/// `tkd teacher attentions --teacher DIR FILE --out F.safetensors [--rollout] [rollout options] [--resample]`
struct TeacherAttentionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attentions",
        abstract:
            "Run the teacher on one audio file: logits, per-layer attentions and, with --rollout, the rollout vector.",
        discussion: """
            Writes a safetensors file with `logits` [labels] (when the model has a classification head), `layer.<i>` \
            [heads, T, T] for every layer (rows are queries) and, with --rollout, `rollout` [T] (sums to 1; the \
            metadata's `rollout_row` says which row: first or mean, --query resolved against the head). The \
            waveform goes in as read (16 kHz), normalised when the folder's preprocessor_config.json sets \
            do_normalize.
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
        let audio = try AudioReader.read(
            URL(fileURLWithPath: file), options: AudioReadOptions(sampleRate: 16_000, allowResample: resample))
        let output = try model.forward(audio.samples)
        let t = output.frames, heads = model.config.heads
        var tensors: [SafeTensors.Tensor] = []
        if let logits = output.logits {
            tensors.append(.init(name: TeacherExport.logits, shape: [logits.count], values: logits))
        }
        for (i, a) in output.attentions.enumerated() {
            tensors.append(.init(name: TeacherExport.layer(i), shape: [heads, t, t], values: a))
        }
        var vector: [Float]?
        var metadata = ["format": TeacherExport.format, "teacher": teacher, "frames": String(t), "file": file]
        if rollout {
            let settings = rolloutOptions.rollout, head = model.config.pooling.row
            vector = settings.vector(output.attentions, heads: heads, frames: t, head: head)
            tensors.append(.init(name: TeacherExport.rollout, shape: [t], values: vector!))
            metadata["rollout_row"] = settings.row(head: head).rawValue
        }
        let data = SafeTensors.encode(tensors, metadata: metadata)
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
