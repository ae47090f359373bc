#!/usr/bin/env bash
# tests/guide/guide_test.sh BUILD SRC CASE - a program of docs/TRAINING.md or
# docs/MODELS.md, built the way a user builds it: `cmake --install BUILD` into a
# temporary prefix, then `cc $(pkg-config --cflags --libs ckpt)` on
# examples/guide/CASE.c with nothing from the source tree on any path, run
# against torch 1.13 (/usr/bin/python3):
#   resume_torch  torch trains 20 steps (AdamW + CosineAnnealingLR) and saves a
#                 training checkpoint; C resumes it for 40 steps and saves one;
#                 torch loads C's strictly, matches its own 40 steps (1e-5), resumes
#   resnet_train  custom residual blocks + BatchNorm + GELU transformer head:
#                 50 steps in C and in torch from one initial state (1e-4)
#   onnx_infer    a CNN+BatchNorm exported by torch.onnx.export, run in a C session;
#                 its output equals torch's (1e-4)
#   jit_run       a scripted CNN (torch.jit.save) run in C through the TorchScript
#                 interpreter; output equal to torch.jit.load's (1e-5), state dict bit-equal
#   hf_publish    torch saves a training checkpoint; C publishes its state dict as
#                 Hugging Face safetensors shards and .bin shards; Python's json+numpy
#                 read the shards, torch.load the .bin ones: equal bit for bit
#   char_lstm     character LSTM on /usr/share/common-licenses/GPL-3 (base-files)
#                 trained in C; torch loads the checkpoint and continues
# Also: every ```c block of the docs that starts with "/* examples/guide/X.c"
# equals that file, so the guide shows the programs the tests run.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
case=$3
cc=${CC:-cc}
py=/usr/bin/python3
fail() { echo "FAIL: guide_$case: $*"; exit 1; }
if ! $py -c 'import torch' 2>/dev/null; then
    echo "SKIPPED: guide_$case: /usr/bin/python3 cannot import torch (apt-get install python3-torch)"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-guide.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "cmake --install"; }
pc=$(find "$prefix" -path '*/pkgconfig/ckpt.pc' | head -n 1)
export PKG_CONFIG_PATH="$(dirname "$pc")"
libdir=$(dirname "$(dirname "$pc")")

# the docs show exactly the tested programs
$py - "$src" <<'PYEOF' || fail "a guide code block differs from its examples/guide file"
import pathlib, re, sys
src = pathlib.Path(sys.argv[1])
bad = 0
for doc in ("docs/TRAINING.md", "docs/MODELS.md", "docs/ONNX.md", "docs/FORMATS.md"):
    p = src / doc
    if not p.exists():
        continue
    for block in re.findall(r"```c\n(.*?)```", p.read_text(), re.S):
        m = re.match(r"/\* (examples/guide/[a-z_]+\.c)", block)
        if m and (src / m.group(1)).read_text() != block:
            print(f"{doc}: the block of {m.group(1)} is not that file")
            bad = 1
sys.exit(bad)
PYEOF

mkdir -p "$tmp/work"
cp "$src/examples/guide/$case.c" "$tmp/work/"
cflags=$(pkg-config --cflags ckpt)
libs=$(pkg-config --libs ckpt)
case " $cflags $libs " in *"$src"*) fail "pkg-config names the source tree" ;; esac
# shellcheck disable=SC2086
"$cc" -std=c11 -O2 -Wall -Wextra -Werror $cflags "$tmp/work/$case.c" -o "$tmp/work/$case" \
    $libs -lm -Wl,-rpath,"$libdir" 2>"$tmp/cc.log" || { cat "$tmp/cc.log"; fail "compile"; }
echo "built examples/guide/$case.c with: cc $cflags ... $libs"
run=$tmp/run
mkdir -p "$run"
text=/usr/share/common-licenses/GPL-3
case $case in
resume_torch)
    lines=$(awk '/training: begin/{f=1;next} /training: end/{f=0} f' "$src/examples/guide/$case.c" |
            grep -cv '^[[:space:]]*$')
    echo "examples/guide/$case.c: $lines lines of C for the training part (limit 60)"
    [ "$lines" -le 60 ] || fail "the training part has $lines lines (> 60)"
    $py "$src/tests/guide/resume_torch.py" make "$run"
    (cd "$run" && "$tmp/work/$case" "$run") || fail "the C program failed"
    $py "$src/tests/guide/resume_torch.py" check "$run"
    ;;
resnet_train)
    $py "$src/tests/guide/resnet_torch.py" make "$run"
    (cd "$run" && "$tmp/work/$case" "$run") || fail "the C program failed"
    $py "$src/tests/guide/resnet_torch.py" check "$run"
    ;;
onnx_infer)
    $py "$src/tests/guide/onnx_torch.py" make "$run"
    (cd "$run" && "$tmp/work/$case" "$run/model.onnx" 5 "$run/x.f32" "$run/y.f32") ||
        fail "the C program failed"
    $py "$src/tests/guide/onnx_torch.py" check "$run"
    ;;
jit_run)
    $py "$src/tests/guide/jit_torch.py" make "$run"
    (cd "$run" && "$tmp/work/$case" "$run/model.pt" 4 "$run/x.f32" "$run/y.f32" "$run/sd.pt") ||
        fail "the C program failed"
    $py "$src/tests/guide/jit_torch.py" check "$run"
    ;;
hf_publish)
    $py "$src/tests/guide/hf_torch.py" make "$run"
    (cd "$run" && "$tmp/work/$case" "$run/ckpt.pt" model "$run/out" 1024) ||
        fail "the C program failed"
    $py "$src/tests/guide/hf_torch.py" check "$run"
    ;;
char_lstm)
    [ -f "$text" ] || { echo "SKIPPED: guide_$case: $text is missing (base-files)"; exit 77; }
    (cd "$run" && "$tmp/work/$case" "$text" "$run") || fail "the C program failed"
    $py "$src/tests/guide/char_lstm_torch.py" "$text" "$run"
    ;;
*) fail "unknown case" ;;
esac
echo "guide_$case: ok"
