// swift-tools-version:6.0
import PackageDescription

// Module map (one job each):
//   MicroQuantC    C99 kernels + runtime (csrc/), the same code the firmware runs
//   MQNumPy        .npy reader/writer
//   MQONNX         ONNX protobuf subset (generated) + importer to MQGraph
//   MQTFLite       bounds-checked reader of .tflite flatbuffers (schema subset), no dependencies
//   MQTFLiteImport int8 TFLite model -> quantized IR (qparams from the file, TFLite Micro arithmetic)
//   MQGraph        float graph IR + float reference executor
//   MQCalibration  observers (minmax, moving-average, histogram, percentile, entropy, mse)
//   MQQuantization quantizer: qparams, fusion, LUTs, int8 graph
//   MQPacking      memory planner + packed model writer (docs/FORMAT.md)
//   MQReport       calibration report (table, JSON, HTML)
//   MQSimulation   host simulator of packed models, board configs, QEMU device-in-the-loop
let package = Package(
    name: "MicroQuant",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "calibrate", targets: ["calibrate"]),
        .executable(name: "simulate", targets: ["simulate"]),
        .library(name: "MicroQuant", targets: ["MQSimulation", "MQPacking", "MQQuantization"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
    ],
    targets: [
        .target(
            name: "MicroQuantC",
            path: "csrc",
            sources: ["src", "host"],
            publicHeadersPath: "include",
            cSettings: [.unsafeFlags(["-std=c99"]), .headerSearchPath("src")]
        ),
        .target(name: "MQNumPy"),
        .target(name: "MQGraph", dependencies: ["MicroQuantC"]),
        .target(
            name: "MQONNX",
            dependencies: ["MQGraph", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["onnx-subset.proto"]
        ),
        .target(name: "MQTFLite"),
        .target(name: "MQTFLiteImport", dependencies: ["MQTFLite", "MQQuantization", "MQCalibration", "MicroQuantC"]),
        .target(name: "MQCalibration", dependencies: ["MQGraph"]),
        .target(name: "MQQuantization", dependencies: ["MQGraph", "MQCalibration", "MicroQuantC"]),
        .target(name: "MQPacking", dependencies: ["MQQuantization", "MicroQuantC"]),
        .target(name: "MQReport", dependencies: ["MQQuantization", "MQPacking"]),
        .target(name: "MQSimulation", dependencies: ["MicroQuantC", "MQNumPy", "MQGraph", "MQONNX"]),
        .executableTarget(
            name: "calibrate",
            dependencies: [
                "MQONNX", "MQNumPy", "MQGraph", "MQCalibration", "MQQuantization", "MQPacking", "MQReport", "MQSimulation",
                "MQTFLiteImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "simulate",
            dependencies: [
                "MQSimulation", "MQNumPy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "fuzz-readers",
            dependencies: ["MQONNX", "MQNumPy", "MQGraph", "MQCalibration", "MQQuantization", "MQPacking", "MQSimulation",
                           "MQTFLite", "MQTFLiteImport"],
            swiftSettings: [.swiftLanguageMode(.v5)]   // a single-threaded top-level script
        ),
        .testTarget(
            name: "MicroQuantTests",
            dependencies: ["MQONNX", "MQNumPy", "MQGraph", "MQCalibration", "MQQuantization", "MQPacking", "MQReport", "MQSimulation", "MQTFLiteImport", "MicroQuantC"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TFLiteTests",
            dependencies: ["MQTFLite", "MQTFLiteImport", "MQQuantization", "MQPacking", "MQReport", "MQNumPy", "MicroQuantC"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["MQSimulation", "MQNumPy", "MicroQuantC"]
        ),
    ]
)
