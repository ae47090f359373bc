#!/usr/bin/env bash
# scripts/ort.sh [DIR] - make sure ONNX Runtime for Node (npm onnxruntime-node,
# the reference the ONNX tests and benchmarks compare against) is installed in
# DIR (default: .cache/ort in the repository).  Prints the folder to pass as
# NODE_PATH.  ONNXRUNTIME_NODE_INSTALL=skip: the package's install script would
# otherwise try to download CUDA binaries; the CPU library ships in the package.
set -euo pipefail
ORT_VERSION=1.30.0
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/.cache/ort}"
if [ -f "$dir/node_modules/onnxruntime-node/package.json" ] &&
    grep -q "\"version\": \"$ORT_VERSION\"" "$dir/node_modules/onnxruntime-node/package.json"; then
    echo "$dir/node_modules"
    exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    else
        echo "ort.sh: node and npm are needed: sudo apt-get install -y nodejs npm" >&2
        exit 1
    fi
fi
mkdir -p "$dir"
(cd "$dir" && [ -f package.json ] || echo '{"private": true}' > package.json)
if ! (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent \
    "onnxruntime-node@$ORT_VERSION" >&2); then
    echo "ort.sh: npm install onnxruntime-node@$ORT_VERSION failed (no access to the npm registry?)" >&2
    exit 1
fi
echo "$dir/node_modules"
