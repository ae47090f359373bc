#!/usr/bin/env bash
# examples/demo.sh BUILD_DIR - the end-to-end job on built-in data: a checkpoint
# written by real PyTorch (committed in tests/fixtures/torch with the script that
# made it) is listed, verified, loaded and saved again by ckpt, and the copy is
# compared byte for byte with the original; when torch is installed it also
# loads ckpt's copy.
set -euo pipefail
build=${1:-build}
ckpt="$build/ckpt"
src=tests/fixtures/torch/checkpoint.pt
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== ckpt ls $src  (written by torch 1.13: tools/gen/make_fixtures.py)"
"$ckpt" ls "$src"
echo
echo "== ckpt verify $src"
"$ckpt" verify "$src"
echo
echo "== ckpt cp $src  ->  copy/checkpoint.pt  (torch 1.13 record layout)"
mkdir -p "$out/copy"
"$ckpt" cp "$src" "$out/copy/checkpoint.pt" --layout 1.13
if cmp -s "$src" "$out/copy/checkpoint.pt"; then
    echo "round trip: $(stat -c %s "$src") bytes, identical to the file torch wrote"
else
    echo "round trip: the copy differs from the original" >&2
    exit 1
fi
"$ckpt" cp "$src" "$out/checkpoint.pt"
echo "default layout (torch 2.7+ records): $(stat -c %s "$out/checkpoint.pt") bytes"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 - "$src" "$out/checkpoint.pt" <<'PY'
import sys, torch
a = torch.load(sys.argv[1], weights_only=False)
b = torch.load(sys.argv[2], weights_only=False)
def same(x, y):
    if isinstance(x, torch.Tensor):
        return x.dtype == y.dtype and x.shape == y.shape and torch.equal(x.view(-1).view(torch.uint8) if x.dtype != torch.bool else x, y.view(-1).view(torch.uint8) if y.dtype != torch.bool else y)
    if isinstance(x, dict):
        return list(x) == list(y) and all(same(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)):
        return len(x) == len(y) and all(same(p, q) for p, q in zip(x, y))
    return x == y
print("torch.load of ckpt's copy equals the original:", same(a, b))
sys.exit(0 if same(a, b) else 1)
PY
fi
