import ArgumentParser
import Foundation
import Training

extension Student: ExpressibleByArgument {}

/// `tkd model …`: the students.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "The paper's five students (LSTM-P, TC-ResNet, CRNN, Att-RNN, MHAtt-RNN).",
        subcommands: [ModelSummaryCommand.self])
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
