#!/usr/bin/env bash
# scripts/gguf_js.sh [DIR] - make sure Hugging Face's GGUF parser for Node (npm
# @huggingface/gguf, the independent reader the GGUF tests compare ckpt-written
# files against) is installed in DIR (default: .cache/gguf in the repository).
# Prints the folder to pass as NODE_PATH.
set -euo pipefail
GGUF_JS_VERSION=0.4.6
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/.cache/gguf}"
if [ -f "$dir/node_modules/@huggingface/gguf/package.json" ] &&
    grep -q "\"version\": \"$GGUF_JS_VERSION\"" "$dir/node_modules/@huggingface/gguf/package.json"; then
    echo "$dir/node_modules"
    exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    else
        echo "gguf_js.sh: node and npm are needed: sudo apt-get install -y nodejs npm" >&2
        exit 1
    fi
fi
mkdir -p "$dir"
(cd "$dir" && [ -f package.json ] || echo '{"private": true}' > package.json)
if ! (cd "$dir" && npm install --no-audit --no-fund --silent "@huggingface/gguf@$GGUF_JS_VERSION" >&2); then
    echo "gguf_js.sh: npm install @huggingface/gguf@$GGUF_JS_VERSION failed (no access to the npm registry?)" >&2
    exit 1
fi
echo "$dir/node_modules"
