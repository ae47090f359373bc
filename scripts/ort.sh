#!/usr/bin/env bash
# scripts/ort.sh [DIR] - make sure ONNX Runtime for Node (npm onnxruntime-node,
# the reference the ONNX tests and benchmarks compare against) is installed in
# DIR (default: .cache/ort in the repository).  Prints the folder to pass as
# NODE_PATH.  ONNXRUNTIME_NODE_INSTALL=skip: the package's install script would
# otherwise try to download CUDA binaries; the CPU library ships in the package.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ONNXRUNTIME_NODE_INSTALL=skip exec "$root/scripts/npm_pkg.sh" ort.sh onnxruntime-node 1.30.0 \
    "${1:-$root/.cache/ort}"
