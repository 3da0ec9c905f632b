import Foundation
import Testing

@Suite("tkd model (end to end)")
struct ModelCLITests {
    @Test("model summary prints the layers and the issue's parameter counts; bad arguments are refused")
    func summary() throws {
        for (student, total) in [
            ("lstm-p", "545912"), ("tc-resnet", "365274"), ("crnn", "467772"), ("att-rnn", "496497"),
            ("mhatt-rnn", "743025"),
        ] {
            let r = try TKDBinary.run(["model", "summary", student])
            #expect(r.status == 0, "\(r.stderr)")
            let last = r.stdout.split(separator: "\n").last { $0.hasPrefix("total") } ?? ""
            #expect(last.split(separator: " ").contains(Substring(total)), "\(student): \(last)")
        }
        let bad = try TKDBinary.run(["model", "summary", "resnet50"])
        #expect(bad.status != 0 && bad.stderr.contains("resnet50"))
        let frames = try TKDBinary.run(["model", "summary", "crnn", "--frames", "3"])
        #expect(frames.status != 0 && frames.stderr.contains("--frames"))
    }
}
