#!/usr/bin/env bash
# examples/demo.sh BUILD_DIR - the end-to-end job on built-in data: a checkpoint
# written by real PyTorch (committed in tests/fixtures/torch with the script that
# made it) is listed, verified, loaded and saved again by ckpt, and the copy is
# compared byte for byte with the original; when torch is installed it also
# loads ckpt's copy.  Then the main job: examples/train_demo trains a small CNN
# on the 8x8 digits (Debian's python3-sklearn), checkpointing every epoch,
# "crashes" after epoch 4, resumes from the last checkpoint and finishes; torch
# opens the final checkpoint, evaluates it, continues one training step from
# its optimizer state, and the checkpoint's globals are checked against torch
# 2.x's weights-only allowlist (src/torch/globals.c).
set -euo pipefail
build=${1:-build}
ckpt="$build/ckpt"
src=tests/fixtures/torch/checkpoint.pt
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run_dir=${CKPT_DEMO_DIR:-$build/train_demo_run}

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

echo
echo "== training: a CNN on the 8x8 digits in C (examples/train_demo.c)"
digits=${CKPT_DIGITS:-}
if [ -z "$digits" ]; then
    digits=$(/usr/bin/python3 -c 'import sklearn.datasets, os; print(os.path.join(os.path.dirname(sklearn.datasets.__file__), "data", "digits.csv.gz"))' 2>/dev/null ||
             echo /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz)
fi
if [ ! -f "$digits" ]; then
    echo "demo: $digits is missing: apt-get install python3-sklearn (scripts/deps.sh demo)" >&2
    exit 1
fi
rm -rf "$run_dir"
mkdir -p "$run_dir"
"$build/examples/train_demo" --data "$digits" --epochs 10 --stop-after 4 "$run_dir"
echo "-- the process is gone; starting again from $run_dir/last.pt"
"$build/examples/train_demo" --data "$digits" --epochs 10 --resume "$run_dir"
final="$run_dir/final.pt"
echo
echo "== torch 1.13 opens $final"
/usr/bin/python3 - "$final" "$digits" "$run_dir" src/torch/globals.c <<'PY'
import gzip, io, pickletools, re, sys, zipfile
import numpy as np
import torch
from torch import nn

path, digits, run_dir, globals_c = sys.argv[1:5]
torch.set_num_threads(1)
raw = np.loadtxt(gzip.open(digits, "rt"), delimiter=",", dtype=np.int64)
X = torch.from_numpy(raw[:, :64].astype(np.float32) / np.float32(16)).reshape(-1, 1, 8, 8)
Y = torch.from_numpy(raw[:, 64])
test_idx = torch.tensor([int(v) for v in open(f"{run_dir}/test_idx.txt").read().split()])
next_idx = torch.tensor([int(v) for v in open(f"{run_dir}/next_batch.txt").read().split()])

ck = torch.load(path, weights_only=False)
print("keys:", list(ck), " epoch:", ck["epoch"])
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.Linear(8 * 4 * 4, 10))
print("load_state_dict(strict=True):", model.load_state_dict(ck["model"], strict=True))
with torch.no_grad():
    acc = (model(X[test_idx]).argmax(1) == Y[test_idx]).float().mean().item()
print(f"test accuracy in torch: {100 * acc:.2f}%  (C reported it in its last epoch line)")

opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
opt.load_state_dict(ck["optimizer"])
sched.load_state_dict(ck["scheduler"])
print("optimizer lr:", opt.param_groups[0]["lr"], " scheduler last_epoch:", sched.last_epoch,
      " scaler:", {k: (v.item() if torch.is_tensor(v) else v) for k, v in ck["scaler"].items()})
lossf = nn.CrossEntropyLoss()
loss = lossf(model(X[next_idx]), Y[next_idx])
opt.zero_grad()
loss.backward()
opt.step()
with torch.no_grad():
    after = lossf(model(X[next_idx]), Y[next_idx]).item()
print(f"one more SGD step in torch from C's momentum buffers: batch loss {loss.item():.4f} -> {after:.4f}")

# every global in data.pkl must be on torch 2.x's weights-only allowlist (as ckpt knows it)
allowed = set()
src = open(globals_c).read()
for mod, name in re.findall(r'\{"([\w.]+)", "(\w+)", TG_\w+,\s*true\}', src):
    allowed.add(f"{mod} {name}")
dtype_names = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
               "uint8", "bool", "complex64", "complex128"}
prefixes = ["Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"]
def on_list(g):
    if g in allowed:
        return True
    mod, name = g.split(" ")
    if mod == "torch" and (name in dtype_names or any(name == p + "Storage" for p in prefixes)):
        return True
    return False
with zipfile.ZipFile(path) as z:
    pkl = z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))
seen = []
for op, arg, _ in pickletools.genops(pkl):
    if op.name == "STACK_GLOBAL":
        sys.exit("data.pkl uses STACK_GLOBAL: not checked")
    if op.name in ("GLOBAL", "INST"):
        if arg not in seen:
            seen.append(arg)
bad = [g for g in seen if not on_list(g)]
print("globals in data.pkl:", ", ".join(g.replace(" ", ".") for g in seen))
print("all on the weights-only allowlist:", not bad, "" if not bad else bad)
sys.exit(1 if bad else 0)
PY
echo "checkpoint: $final"
