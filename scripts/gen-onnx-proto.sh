#!/usr/bin/env bash
# Regenerates Sources/MQONNX/onnx-subset.pb.swift from Sources/MQONNX/onnx-subset.proto.
# Dev-time only (CI builds the committed file with the SwiftProtobuf runtime library).
# Needs protoc and protoc-gen-swift of the same swift-protobuf version as Package.resolved
# (1.39.0). If protoc-gen-swift is not on PATH (or PROTOC_GEN_SWIFT is not set), it is built
# once from the swift-protobuf checkout that SwiftPM already fetched (.build/checkouts).
set -euo pipefail
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
if [ -z "$plugin" ]; then
    src=".build/checkouts/swift-protobuf"
    if [ ! -d "$src" ]; then
        swift package resolve
    fi
    scratch="${TMPDIR:-/tmp}/mq-protoc-gen-swift"
    rm -rf "$scratch" && cp -R "$src" "$scratch"
    (cd "$scratch" && swift build -c release --product protoc-gen-swift)
    plugin="$scratch/.build/release/protoc-gen-swift"
fi
protoc --plugin=protoc-gen-swift="$plugin" \
       --proto_path=Sources/MQONNX \
       --swift_out=Sources/MQONNX \
       onnx-subset.proto
echo "wrote Sources/MQONNX/onnx-subset.pb.swift"
