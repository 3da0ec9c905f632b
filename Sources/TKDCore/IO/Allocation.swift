import Foundation

/// glibc's `mallopt` (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

/// Keeps freed training buffers in the heap instead of returning them to the kernel: every step
/// allocates the same large activations again, and fresh pages from mmap cost a kernel page clear
/// (≈ 20 % of a TC-ResNet step). Called once by the trainer, the teacher cache and the benchmarks.
public func reuseLargeAllocations() {
    #if os(Linux)
    let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
    _ = glibcMallopt(mmapThreshold, 1 << 25)  // glibc caps it at 32 MiB
    _ = glibcMallopt(trimThreshold, Int32.max)
    #endif
}
