import Foundation
import TrainingLoop

/// The bundled teacher's own keys in its training state (`training/state.safetensors`, the one
/// `TrainingState` format; the weights themselves are the Hugging Face folder's).
public struct TeacherCheckpoint: TrainingStateDetails {
    public static let format = "tkd-teacher-state/2"
    public var config: TeacherTrainConfig
}
