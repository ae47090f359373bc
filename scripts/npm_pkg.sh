#!/usr/bin/env bash
# scripts/npm_pkg.sh NAME PACKAGE VERSION DIR - make sure the npm PACKAGE at
# VERSION is installed in DIR (a private folder, e.g. .cache/ort), installing
# node and npm from Debian first when run as root.  Prints DIR/node_modules, the
# folder to pass as NODE_PATH.  NAME prefixes the messages (the calling script).
# Extra environment for `npm install` is passed through (ONNXRUNTIME_NODE_INSTALL).
# The test references that come from npm use it: scripts/ort.sh (ONNX Runtime)
# and scripts/gguf_js.sh (@huggingface/gguf).
set -euo pipefail
name=$1 pkg=$2 version=$3 dir=$4
if [ -f "$dir/node_modules/$pkg/package.json" ] &&
    grep -q "\"version\": \"$version\"" "$dir/node_modules/$pkg/package.json"; then
    echo "$dir/node_modules"
    exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    else
        echo "$name: node and npm are needed: sudo apt-get install -y nodejs npm" >&2
        exit 1
    fi
fi
mkdir -p "$dir"
(cd "$dir" && [ -f package.json ] || echo '{"private": true}' > package.json)
if ! (cd "$dir" && npm install --no-audit --no-fund --silent "$pkg@$version" >&2); then
    echo "$name: npm install $pkg@$version failed (no access to the npm registry?)" >&2
    exit 1
fi
echo "$dir/node_modules"
