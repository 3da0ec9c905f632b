import Foundation

/// Rows per example of a [B, …, C] tensor.
@inline(__always) func rowsPerExample(_ x: Tensor, width: Int) -> Int { x.exampleSize / width }
