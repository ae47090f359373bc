#!/usr/bin/env bash
# tests/install/public_headers_test.sh SRC [CC] - every program under examples/
# (and the tools built from them: tests/interop/train_tool.c, train_amp_*.c) uses
# the library's public headers only (issue 10 item 7).  (CTest examples_public_headers)
#  1. each #include is a system header, <ckpt/NAME.h> / "ckpt/NAME.h" of include/ckpt,
#     or a header beside the file in examples/ (digits.h, train_amp.h);
#  2. each file compiles (-fsyntax-only) with include/ and examples/ as its only
#     include paths, so a private header (src/) cannot be reached.
set -euo pipefail
src=$(cd "$1" && pwd)
cc=${2:-${CC:-cc}}
cd "$src"
files=$(ls examples/*.c examples/*.h examples/guide/*.c tests/interop/train_tool.c \
           tests/interop/train_amp_*.c 2>/dev/null)
[ -n "$files" ] || { echo "FAIL: no examples found under $src/examples"; exit 1; }
bad=0
for f in $files; do
    while IFS= read -r line; do
        inc=$(printf '%s\n' "$line" | sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/')
        case "$inc" in
            ckpt/*.h)
                [ -f "include/$inc" ] || { echo "FAIL: $f: $line: not a public header (include/$inc)"; bad=1; } ;;
            */* | ..*)
                echo "FAIL: $f: $line: not a public ckpt header"; bad=1 ;;
            *)
                if printf '%s\n' "$line" | grep -q '"'; then
                    [ -f "examples/$inc" ] ||
                        { echo "FAIL: $f: $line: \"$inc\" is not a header of examples/"; bad=1; }
                fi ;;
        esac
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$f")
done
for f in $files; do
    case "$f" in *.h) continue ;; esac
    "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -fsyntax-only -Iinclude -Iexamples "$f" ||
        { echo "FAIL: $f does not compile with include/ and examples/ alone"; bad=1; }
done
[ $bad = 0 ] || exit 1
echo "examples_public_headers: $(echo "$files" | wc -w) files use the public headers only"
