// swift-tools-version:6.1
// AttnSim — a cycle-approximate, bit-accurate simulator of fixed-point attention accelerators.
// Toolchain only: no third-party packages (a product decision, see DEVELOPERS.md).
import PackageDescription

let libm: [LinkerSetting] = [.linkedLibrary("m", .when(platforms: [.linux]))]

let package = Package(
    name: "AttnSim",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "attnsim", targets: ["attnsim"]),
        .executable(name: "attnsim-bench", targets: ["attnsim-bench"]),
        .library(name: "AttnCore", targets: ["AttnCore"]),
        .library(name: "Accelerator", targets: ["Accelerator"]),
        .library(name: "ReferenceModels", targets: ["ReferenceModels"]),
        .library(name: "Experiments", targets: ["Experiments"]),
    ],
    targets: [
        // Tensors, F16/BF16, safetensors and GGUF readers, the YAML-subset config language, CSV, errors.
        .target(name: "AttnCore", dependencies: ["CKernels"], linkerSettings: libm),
        // Tokenizers, BERT encoder, Llama decoder, the attention seam, trace recording.
        .target(name: "ReferenceModels", dependencies: ["AttnCore"], linkerSettings: libm),
        // AVX-512 VNNI kernels in C (intrinsics behind a run-time CPU check), each with a Swift twin.
        .target(name: "CKernels"),
        // Hardware/attention configs, the functional (bit-accurate) model and the timing model.
        .target(name: "Accelerator", dependencies: ["AttnCore", "CKernels"], linkerSettings: libm),
        // Sweeps, the runner, evaluation tasks, report rows, plots.
        .target(name: "Experiments", dependencies: ["AttnCore", "Accelerator", "ReferenceModels"], linkerSettings: libm),
        // Argument parsing and wiring only.
        .executableTarget(name: "attnsim", dependencies: ["Experiments"]),
        .executableTarget(name: "attnsim-bench", dependencies: ["Experiments", "CKernels"]),

        // Package root, fixtures and assets for every test target: one lookup policy.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "AttnCoreTests", dependencies: ["AttnCore", "TestSupport"]),
        .testTarget(name: "ReferenceModelsTests", dependencies: ["ReferenceModels", "TestSupport"]),
        .testTarget(name: "AcceleratorTests", dependencies: ["Accelerator", "CKernels", "TestSupport"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "TestSupport"]),
        // Runs the built `attnsim` binary as a user would (exit codes, stderr, files written).
        .testTarget(name: "CLITests", dependencies: ["attnsim", "AttnCore", "TestSupport"]),
    ]
)
