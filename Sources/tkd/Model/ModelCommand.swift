import ArgumentParser
import DatasetFormat
import Foundation
import Training

extension Student: ExpressibleByArgument {}

/// `tkd model …`: the students.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "The paper's five students (LSTM-P, TC-ResNet, CRNN, Att-RNN, MHAtt-RNN).",
        subcommands: [ModelSummaryCommand.self, ModelInitCommand.self])
}

/// `tkd model summary STUDENT [--classes N] [--frames T]`
struct ModelSummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Print a student's layers, output shapes (per example, time first) and parameter counts.")

    @Argument(help: "lstm-p, tc-resnet, crnn, att-rnn or mhatt-rnn.")
    var student: Student

    @Option(help: "Number of classes.")
    var classes: Int = 12

    @Option(help: "Input frames (49 for 1 s, 99/199/299/399 for 2/4/6/8 s with the 20-ms-hop MFCC).")
    var frames: Int = 49

    func validate() throws {
        guard classes >= 2 else { throw ValidationError("--classes must be at least 2; got \(classes).") }
        guard frames >= 7 else {
            throw ValidationError("--frames must be at least 7 (CRNN's valid convolutions take 6); got \(frames).")
        }
    }

    func run() throws {
        let rows = student.summary(classes: classes, frames: frames)
        var table = [["layer", "output", "trainable", "non-trainable"]]
        for r in rows {
            table.append([
                r.layer, "[" + r.shape.map(String.init).joined(separator: ", ") + "]",
                r.trainable == 0 ? "" : String(r.trainable), r.nonTrainable == 0 ? "" : String(r.nonTrainable),
            ])
        }
        let trainable = rows.reduce(0) { $0 + $1.trainable }, fixed = rows.reduce(0) { $0 + $1.nonTrainable }
        table.append(["total", "", String(trainable), String(fixed)])
        say(
            "\(student.rawValue): \(classes) classes, \(frames) frames; context representation for attention KD: "
                + "\(student.contextLayerName)"
        )
        say(CorpusIndexTable.table(table))
    }
}

/// `tkd model init STUDENT --out CK [--seconds S] [--labels a,b,…] [--preset P] [--sample-rate R] [--multi-label]`
struct ModelInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write an untrained student checkpoint (Keras's initialisers, as tkd train starts it).",
        discussion: """
            For benchmarks (tkd bench infer), export checks and the ONNX parity fixtures: a checkpoint with every \
            deployment fact (rate, window, front end, labels) and weights that have learned nothing. Writes CK and \
            its .json twin.
            """)

    @Argument(help: "lstm-p, tc-resnet, crnn, att-rnn or mhatt-rnn.")
    var student: Student

    @Option(help: "The checkpoint to write (.safetensors).")
    var out: String

    @Option(help: "Window length in seconds.")
    var seconds: Double = 1

    @Option(help: "Comma-separated labels (default: _silence_, _unknown_ and the ten Speech Commands keywords).")
    var labels: String?

    @Option(help: "Feature preset (default: the student's).")
    var preset: String?

    @Option(help: "Sample rate in Hz.")
    var sampleRate: Int = 16000

    @Flag(help: "A multi-label model (sigmoid outputs).")
    var multiLabel = false

    @Option(help: "Initialisation seed.")
    var seed: UInt64 = 0

    func validate() throws {
        guard seconds > 0, seconds <= 3600, (seconds * Double(sampleRate)).rounded() >= 1 else {
            throw ValidationError("--seconds must be in (0, 3600]; got \(seconds).")
        }
        guard (1...384_000).contains(sampleRate) else {
            throw ValidationError("--sample-rate must be 1…384000; got \(sampleRate).")
        }
        if let labels {
            let names = labels.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard names.count >= 2, !names.contains(""), Set(names).count == names.count else {
                throw ValidationError("--labels must name at least two distinct, non-empty labels; got '\(labels)'.")
            }
        }
        if let preset, FrontEndPreset(rawValue: preset) == nil {
            throw ValidationError(
                "--preset '\(preset)' is not a preset; expected one of "
                    + FrontEndPreset.allCases.map(\.rawValue).joined(separator: ", ") + ".")
        }
    }

    func run() throws {
        let names =
            labels.map { $0.split(separator: ",").map(String.init) }
            ?? ["_silence_", "_unknown_"] + Recipe.speechCommands12
        let (model, info) = try Checkpoint.untrained(
            student: student, labels: names, preset: preset.flatMap(FrontEndPreset.init(rawValue:)),
            sampleRate: sampleRate, windowSamples: Int((seconds * Double(sampleRate)).rounded()),
            task: multiLabel ? .multiLabel : .singleLabel, seed: seed)
        let url = URL(fileURLWithPath: out)
        try Checkpoint.save(model, info: info, optimizer: nil, to: url)
        say(
            "\(student.rawValue): \(names.count) labels, \(info.details.frames) frames of "
                + "\(info.details.featurePreset) (\(seconds) s at \(sampleRate) Hz), untrained → \(url.path)")
    }
}
