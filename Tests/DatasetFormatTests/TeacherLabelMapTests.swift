import DatasetFormat
import Foundation
import Testing

@Suite("Teacher label mapping")
struct TeacherLabelMapTests {
    @Test("by name (any order), by count, or not at all")
    func mapping() {
        let dataset = ["_silence_", "_unknown_", "yes", "no"]
        #expect(
            TeacherCacheInfo.classMap(
                teacherLabels: ["no", "yes", "_unknown_", "_silence_", "extra"], datasetLabels: dataset, logits: nil)
                == [3, 2, 1, 0, -1])
        #expect(
            TeacherCacheInfo.classMap(teacherLabels: ["a", "b", "c", "d"], datasetLabels: dataset, logits: nil) == [
                0, 1, 2, 3,
            ])
        #expect(TeacherCacheInfo.classMap(teacherLabels: ["a", "b"], datasetLabels: dataset, logits: nil) == nil)
        #expect(TeacherCacheInfo.classMap(teacherLabels: nil, datasetLabels: dataset, logits: 4) == [0, 1, 2, 3])
        #expect(TeacherCacheInfo.classMap(teacherLabels: nil, datasetLabels: dataset, logits: 12) == nil)
    }
}
