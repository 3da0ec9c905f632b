import Foundation

/// A runtime layer with forward and backward passes over a whole batch.
///
/// `forward` in training mode keeps what `backward` needs; `backward` takes dLoss/dOutput, adds the
/// parameter gradients into `Parameter.gradient` and returns dLoss/dInput (or an empty tensor when
/// `needsInputGradient` is false, as for the first layer).
public protocol Layer: AnyObject {
    var name: String { get }
    /// Trainable parameters and state, in checkpoint order.
    var parameters: [Parameter] { get }
    var needsInputGradient: Bool { get set }
    func forward(_ x: Tensor, _ context: RunContext) throws -> Tensor
    func backward(_ dy: Tensor, _ context: RunContext) throws -> Tensor
}
