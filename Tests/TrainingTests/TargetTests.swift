import DatasetFormat
import Foundation
import Layers
import TKDCore
import TestSupport
import Testing
import TrainingLoop

@testable import Training

@Suite("Distillation targets")
struct TargetTests {
    @Test("context step centres: same frame, TC-ResNet's stride 2, CRNN's 7-frame receptive field")
    func centres() {
        #expect(Student.attRNN.contextCentreFrame(step: 10, frames: 99) == 10)
        #expect(
            Student.tcResNet.contextSteps(frames: 99) == 50
                && Student.tcResNet.contextCentreFrame(step: 10, frames: 99) == 20)
        #expect(Student.tcResNet.contextCentreFrame(step: 10, frames: 98) == 21)
        #expect(
            Student.crnn.contextSteps(frames: 99) == 93 && Student.crnn.contextCentreFrame(step: 0, frames: 99) == 3)
    }

    func record(onset: Int, offset: Int) -> ExampleRecord {
        ExampleRecord(
            id: "x", split: .training, label: "yes", labelIndex: 2, sampleRate: 16_000, numSamples: 32_000,
            audio: "a.wav", audioSHA256: "",
            keyword: KeywordPlacement(
                source: "s", sourceSHA256: "", sourceNumSamples: 16_000, word: "yes", speaker: "p",
                onsetSample: onset, offsetSample: onset + 16_000, speechOnsetSample: onset + 2_000,
                speechOffsetSample: offset, gainDB: 0),
            noise: [], snrDB: nil, snrDBAchieved: nil, snrDefinition: nil, scale: 1)
    }

    @Test("oracle: uniform over the steps whose centres fall in the speech span; shifted with the features")
    func oracle() {
        // kws front end: frame j covers [320 j, 320 j + 640), centre 320 j + 320.
        let centre = { (j: Double) in 320 * j + 320 }
        let r = record(onset: 8_000, offset: 16_000)  // speech [10 000, 16 000)
        let a = AttentionTargets.oracle(r, centres: Student.attRNN.contextCentres(frames: 99, frameCentre: centre))
        let on = a.indices.filter { a[$0] > 0 }
        // Centres 320 j + 320 in [10 000, 16 000): j = 31 (10 240) … 48 (15 680); j = 49 (16 000) is outside.
        #expect(on == Array(31...48))
        #expect(abs(a.reduce(0, +) - 1) < 1e-6)
        let shifted = AttentionTargets.oracle(
            r, centres: Student.attRNN.contextCentres(frames: 99, frameCentre: centre), shift: 3 * 320)
        #expect(shifted.indices.filter { shifted[$0] > 0 } == Array(34...51))
        var silence = r
        silence.keyword = nil
        #expect(
            Set(AttentionTargets.oracle(silence, centres: Student.crnn.contextCentres(frames: 99, frameCentre: centre)))
                == [Float(1) / 93])
    }

    @Test("resampling: index grid (endpoints kept, linear between), centre grid, renormalised")
    func resample() {
        let v: [Float] = [0, 1, 2, 3, 4]
        let up = AttentionTargets.resample(v, to: 9, mode: .index)
        let raw = up.map { $0 * Float((0..<9).map { Double($0) / 2 }.reduce(0, +)) }
        for (j, x) in raw.enumerated() { #expect(abs(x - Float(j) / 2) < 1e-5) }
        let down = AttentionTargets.resample([1, 1, 1, 1, 5, 1, 1, 1, 1], to: 3, mode: .index)
        #expect(abs(down.reduce(0, +) - 1) < 1e-6 && down[1] > down[0])
        let c = AttentionTargets.resample(
            v, to: 2, mode: .centers, sourceTimes: [0, 1, 2, 3, 4], targetTimes: [0.5, 10])
        #expect(abs(c[0] - 0.5 / 4.5) < 1e-6 && abs(c[1] - 4 / 4.5) < 1e-6)
    }
}
