import ArgumentParser
import Foundation
import Numerics
import TKDCore

@main
struct TKD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tkd",
        abstract:
            "TemporalKD: Noisy Speech Commands generation and temporal knowledge distillation for keyword spotting.",
        discussion: """
            Stages talk through files: corpus → recipe → dataset (manifests + audio) → features → \
            teacher cache → students.
            Every command exits non-zero with a one-line reason on bad input.
            """,
        version: TKDVersion.current,
        subcommands: [
            CorpusCommand.self, GenerateCommand.self, RenderCommand.self, FeaturesCommand.self, ModelCommand.self,
            TrainCommand.self, EvaluateCommand.self, ExportCommand.self, DetectCommand.self, TeacherCommand.self,
            VerifyCommand.self, ReportCommand.self,
            DemoCommand.self, StudyCommand.self, BenchCommand.self, VersionCommand.self,
        ]
    )

    static func main() {
        OpenBLASKernels.selectIfFallback()
        main(nil)
    }
}

/// OpenBLAS 0.3.21 (Debian 12) picks its kernels from a CPU-model table when it is loaded and falls back to
/// the SSE3 "Prescott" kernels on newer models, about 2.5× slower for training. When that happened, the CPU
/// runs better kernels and `OPENBLAS_CORETYPE` is unset, tkd starts itself again once with
/// `OPENBLAS_CORETYPE` set to that family (the variable is read only at load time). A variable set by the
/// user is never changed; `TKD_OPENBLAS_AUTO=0` turns this off.
enum OpenBLASKernels {
    static func selectIfFallback() {
        let env = ProcessInfo.processInfo.environment
        guard env["TKD_OPENBLAS_AUTO"] != "0", env["TKD_OPENBLAS_REEXEC"] == nil, let better = BLAS.betterCoreType
        else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        setenv("TKD_OPENBLAS_REEXEC", "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Still here: exec failed; carry on with OpenBLAS's choice (tkd train prints a note).
        unsetenv("OPENBLAS_CORETYPE")
    }
}
