import COpenBLAS
import Foundation

// All OpenBLAS interop lives in this file.

/// Matrix products through OpenBLAS `cblas_sgemm`, row-major.
public enum BLAS {
    /// OpenBLAS runs single-threaded inside the toolkit: parallelism comes from `WorkPool` over the
    /// batch, whose reduction order is fixed (deterministic); OpenBLAS's own threads would compete
    /// with it for the cores.
    private static let singleThreaded: Void = { openblas_set_num_threads(1) }()

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, where op(A) is m×k and op(B) is k×n.
    /// `lda`, `ldb`, `ldc` are the row strides of A, B and C as stored (row-major).
    @inlinable
    public static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    @usableFromInline
    static func sgemm(
        _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        _ = singleThreaded
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm dimensions must be non-negative")
        guard m > 0 && n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// OpenBLAS's build configuration, e.g. "OpenBLAS 0.3.21 … DYNAMIC_ARCH …".
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// The kernel family OpenBLAS chose at load time ("SkylakeX", "Haswell", "Prescott", …).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The kernel family this CPU supports when OpenBLAS fell back to its generic SSE3 ("Prescott")
    /// kernels — what OpenBLAS 0.3.21 does on CPU models newer than its table (e.g. family 6 model 207) —
    /// and `OPENBLAS_CORETYPE` is not set: "SkylakeX" (AVX-512 F/CD/BW/DQ/VL) or "Haswell" (AVX2 + FMA).
    /// nil when OpenBLAS's own choice stands.
    public static var betterCoreType: String? {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
            ["Prescott", "Core2", "Nehalem", "Penryn", "Dunnington"].contains(coreName),
            let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        else { return nil }
        let flags = info.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let words = Set(flags.split(separator: " ").map(String.init))
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(words.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(words.contains) { return "Haswell" }
        return nil
    }

    /// A one-line note for the same situation (when the kernel family could not be set for this process).
    public static var slowKernelNote: String? {
        guard let better = betterCoreType else { return nil }
        return "note: OpenBLAS chose its \(coreName) (SSE3) kernels on a CPU that runs its \(better) ones; "
            + "OPENBLAS_CORETYPE=\(better) makes training about 2.5× faster (see Docs/speed.md)"
    }
}
