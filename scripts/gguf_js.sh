#!/usr/bin/env bash
# scripts/gguf_js.sh [DIR] - make sure Hugging Face's GGUF parser for Node (npm
# @huggingface/gguf, the independent reader the GGUF tests compare ckpt-written
# files against) is installed in DIR (default: .cache/gguf in the repository).
# Prints the folder to pass as NODE_PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/npm_pkg.sh" gguf_js.sh @huggingface/gguf 0.4.6 "${1:-$root/.cache/gguf}"
