import AudioIO
import DatasetFormat

extension Recipe.SpeechActivitySpec {
    /// The energy-based detector of the keyword's speech-active span that these settings describe.
    public func detector(sampleRate: Int) -> ActiveSpanDetector {
        ActiveSpanDetector(
            frameLength: max(1, Int((frameSeconds * Double(sampleRate)).rounded())),
            thresholdDB: thresholdDB, floorRMS: 1e-6,
            marginSamples: Int((marginSeconds * Double(sampleRate)).rounded()))
    }
}
