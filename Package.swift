// swift-tools-version:6.1
// TemporalKD — temporal knowledge distillation for keyword spotting (see README.md).
//
// Module layout and the dependency rule: Docs/architecture.md. The layer table there lists, for every
// module, the modules it may import; Tests/ArchitectureTests checks that these dependencies are exactly its rows.
import PackageDescription

/// The modules with hot loops are optimised in debug builds too: `make test` runs the CLI tests on the debug
/// `tkd`, whose teacher training was otherwise about 20 times slower (4.3 s against 0.2 s a step of
/// Recipes/teacher/demo.yaml on 2 cores; `make test` went from about 5 to 4 minutes with a 600-step teacher
/// training added). Tests still import them with `@testable` (SwiftPM keeps -enable-testing in debug builds).
let hot: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "TemporalKD",
    products: [
        .executable(name: "tkd", targets: ["tkd"]),
        .library(name: "TKDCore", targets: ["TKDCore"]),
        .library(name: "TensorStore", targets: ["TensorStore"]),
        .library(name: "DatasetFormat", targets: ["DatasetFormat"]),
        .library(name: "AudioIO", targets: ["AudioIO"]),
        .library(name: "Numerics", targets: ["Numerics"]),
        .library(name: "Layers", targets: ["Layers"]),
        .library(name: "TrainingLoop", targets: ["TrainingLoop"]),
        .library(name: "Synthesis", targets: ["Synthesis"]),
        .library(name: "Features", targets: ["Features"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Teacher", targets: ["Teacher"]),
        .library(name: "Verify", targets: ["Verify"]),
        .library(name: "Deploy", targets: ["Deploy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // SHA-256 through BoringSSL's assembly (SHA-NI / AVX2): hashing every output file is on the hot path.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System libraries: one target per C library, found through pkg-config.
        .systemLibrary(
            name: "CSndFile", pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(
            name: "CSampleRate", pkgConfig: "samplerate",
            providers: [.apt(["libsamplerate0-dev"])]),
        .systemLibrary(
            name: "CFFTW", pkgConfig: "fftw3f",
            providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),

        .target(
            name: "TKDCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The counter-based RNG draws every dropout mask and noise sample (31 % of a debug teacher training
            // step when it was not optimised).
            swiftSettings: hot),
        .target(
            name: "TensorStore",
            dependencies: ["TKDCore"],
            swiftSettings: hot),
        .target(
            name: "DatasetFormat",
            dependencies: ["TKDCore", "TensorStore"]),
        .target(
            name: "AudioIO",
            dependencies: ["TKDCore", "CSndFile", "CSampleRate"],
            swiftSettings: hot),
        .target(
            name: "Synthesis",
            dependencies: ["TKDCore", "DatasetFormat", "AudioIO"],
            swiftSettings: hot),
        .target(
            name: "Numerics",
            dependencies: ["TKDCore", "COpenBLAS"],
            swiftSettings: hot),
        .target(
            name: "Layers",
            dependencies: ["TKDCore", "Numerics"],
            swiftSettings: hot),
        .target(
            name: "TrainingLoop",
            dependencies: ["TKDCore", "DatasetFormat", "TensorStore", "Numerics", "Layers"],
            swiftSettings: hot),
        .target(
            name: "Training",
            dependencies: ["TKDCore", "DatasetFormat", "TensorStore", "Numerics", "Layers", "TrainingLoop"],
            swiftSettings: hot),
        .target(
            name: "Teacher",
            dependencies: ["TKDCore", "DatasetFormat", "AudioIO", "TensorStore", "Numerics", "Layers", "TrainingLoop"],
            swiftSettings: hot),
        .target(
            name: "Study",
            dependencies: [
                "TKDCore", "DatasetFormat", "Training", .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: hot),
        .target(
            name: "Verify",
            dependencies: ["TKDCore", "DatasetFormat", "AudioIO", "Synthesis", "TensorStore", "Features"]),
        .target(
            name: "Features",
            dependencies: ["TKDCore", "DatasetFormat", "AudioIO", "TensorStore", "CFFTW"],
            swiftSettings: hot),
        // The way out: ONNX export (writer, batch-norm folding, int8), tkd's runner for its graphs, the detector.
        .target(
            name: "Deploy",
            dependencies: [
                "TKDCore", "DatasetFormat", "AudioIO", "TensorStore", "Numerics", "Layers", "TrainingLoop", "Training",
                "Features",
            ],
            swiftSettings: hot),
        .executableTarget(
            name: "tkd",
            dependencies: [
                "TKDCore", "DatasetFormat", "AudioIO", "Synthesis", "TensorStore", "Features", "Numerics", "Layers",
                "TrainingLoop", "Training", "Teacher", "Verify", "Study", "Deploy", "COpenBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Helpers shared by the test targets: temporary folders, the finite-difference checker, closeness.
        .target(name: "TestSupport", dependencies: ["TKDCore"], path: "Tests/TestSupport"),
        .testTarget(name: "TKDCoreTests", dependencies: ["TKDCore", "TestSupport"]),
        .testTarget(
            name: "TensorStoreTests", dependencies: ["TensorStore", "TKDCore", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "DatasetFormatTests", dependencies: ["DatasetFormat", "TensorStore", "TKDCore", "TestSupport"]),
        .testTarget(
            name: "AudioIOTests", dependencies: ["AudioIO", "TKDCore", "CSndFile", "TensorStore", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "SynthesisTests", dependencies: ["Synthesis", "DatasetFormat", "AudioIO", "TKDCore", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "FeaturesTests",
            dependencies: [
                "Features", "DatasetFormat", "TensorStore", "AudioIO", "TKDCore",
                "TestSupport",
            ],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "StudyTests", dependencies: ["Study", "Training", "TKDCore", "DatasetFormat", "TestSupport"]),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "TKDCore", "TestSupport"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Numerics", "TKDCore", "TestSupport"]),
        .testTarget(
            name: "TrainingLoopTests", dependencies: ["TrainingLoop", "Layers", "Numerics", "TKDCore", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "Training", "TrainingLoop", "DatasetFormat", "Layers", "Numerics",
                "TensorStore", "TKDCore", "TestSupport",
            ],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "TeacherTests",
            dependencies: [
                "Teacher", "TrainingLoop", "DatasetFormat", "Layers", "TensorStore",
                "Numerics", "TKDCore", "TestSupport",
            ],
            exclude: ["Fixtures"]),
        .testTarget(name: "VerifyTests", dependencies: ["Verify", "DatasetFormat", "TKDCore", "TestSupport"]),
        .testTarget(
            name: "DeployTests",
            dependencies: [
                "Deploy", "Training", "TrainingLoop", "Features", "DatasetFormat", "Layers", "Numerics", "AudioIO",
                "TKDCore", "TestSupport",
            ],
            exclude: ["Fixtures"]),
        .testTarget(name: "CLITests", dependencies: ["tkd", "TKDCore", "TestSupport"]),
        // The dependency rule: every import in Sources/ against the layer table of Docs/architecture.md.
        .testTarget(name: "ArchitectureTests", dependencies: []),
    ],
    swiftLanguageModes: [.v6]
)
