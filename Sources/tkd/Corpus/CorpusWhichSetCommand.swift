import ArgumentParser
import Foundation
import Synthesis
import TKDCore

/// `tkd corpus which-set NAME...`
struct CorpusWhichSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "which-set",
        abstract: "Print NAME<TAB>training|validation|testing by the official Speech Commands hash rule.",
        discussion: """
            The rule hashes the file's base name up to `_nohash_` (the speaker) with SHA-1, so every clip of a \
            speaker lands in the same split. It reproduces the official validation_list.txt / testing_list.txt \
            of Speech Commands v1 and v2 exactly.
            """)

    @Argument(help: "File names or corpus-relative paths, e.g. yes/0a7c2a8d_nohash_0.wav.")
    var names: [String] = []

    @Option(name: .customLong("from"), help: "Also read names from this file, one per line ('-' for standard input).")
    var listFile: String?

    @Option(help: "Validation percentage.")
    var validationPercentage: Double = 10

    @Option(help: "Testing percentage.")
    var testingPercentage: Double = 10

    func validate() throws {
        guard !names.isEmpty || listFile != nil else {
            throw ValidationError("give at least one NAME or --from FILE.")
        }
        guard validationPercentage >= 0, testingPercentage >= 0, validationPercentage + testingPercentage <= 100 else {
            throw ValidationError(
                "percentages must be ≥ 0 and sum to at most 100; got \(validationPercentage) + \(testingPercentage).")
        }
    }

    func run() throws {
        var all = names
        if let listFile {
            let data: Data
            if listFile == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let d = try RegularFile.contents(URL(fileURLWithPath: listFile)) else {
                    throw ValidationError("--from \(listFile): cannot read the file.")
                }
                data = d
            }
            all += String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let rule = SplitRule(validationPercentage: validationPercentage, testingPercentage: testingPercentage)
        var out = ""
        out.reserveCapacity(all.count * 40)
        for name in all { out += "\(name)\t\(rule.split(of: name).rawValue)\n" }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
