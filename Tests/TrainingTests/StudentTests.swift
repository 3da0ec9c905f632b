import DatasetFormat
import Foundation
import Layers
import TKDCore
import TestSupport
import Testing
import TrainingLoop

@testable import Training

@Suite("Students")
struct StudentTests {
    /// Docs/students.md §10: trainable parameters for 12 classes.
    @Test(
        "trainable parameter counts for 12 classes",
        arguments: [
            (Student.lstmP, 545_912), (.tcResNet, 365_274), (.crnn, 467_772), (.attRNN, 496_497), (.mhAttRNN, 743_025),
        ])
    func counts(student: Student, want: Int) {
        #expect(student.trainableParameters(classes: 12) == want)
    }

    @Test("non-trainable counts (batch-norm statistics) and context lengths T′ for 1 s and 8 s")
    func shapes() {
        #expect(Student.tcResNet.summary(classes: 12, frames: 49).reduce(0) { $0 + $1.nonTrainable } == 1_620)
        #expect(Student.attRNN.summary(classes: 12, frames: 49).reduce(0) { $0 + $1.nonTrainable } == 22)
        // TC-ResNet: 49 → 25 and 399 → 200 through the stride-2 block.
        let tc1 = Student.tcResNet.summary(classes: 12, frames: 49),
            tc8 = Student.tcResNet.summary(classes: 12, frames: 399)
        #expect(tc1[tc1.count - 4].shape == [25, 1, 72] && tc8[tc8.count - 4].shape == [200, 1, 72])
        // CRNN: valid convolutions take 6 frames: 43 for 1 s, 393 for 8 s, into the GRU.
        #expect(Student.crnn.summary(classes: 12, frames: 49)[4].shape == [43, 256])
        #expect(Student.crnn.summary(classes: 12, frames: 399)[4].shape == [393, 256])
        // Att-RNN: H is [T′, 256]; MHAtt-RNN concatenates 4 heads.
        #expect(Student.attRNN.summary(classes: 12, frames: 399)[8].shape == [399, 256])
        #expect(Student.mhAttRNN.summary(classes: 12, frames: 49)[9].shape == [1024])
        #expect(Student.lstmP.summary(classes: 35, frames: 49).last?.shape == [35])
    }
}
