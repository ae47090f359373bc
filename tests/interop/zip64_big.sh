#!/usr/bin/env bash
# tests/interop/zip64_big.sh TOOL - a checkpoint past 4 GiB (ZIP64 sizes, offsets and
# descriptors): ckpt's file must equal torch.save's byte for byte, and torch must read
# ckpt's file.  Needs ~9 GiB of disk and ~9 GiB of memory; label "slow" (make test-slow).
set -euo pipefail
tool=$1
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/c" "$d/t"
"$tool" "$d/c/big.pt"
/usr/bin/python3 - "$d" <<'PY'
import sys, torch
d = sys.argv[1]
n = 4294967360
big = torch.zeros(n, dtype=torch.uint8); big[-1] = 7
torch.save({'big': big, 'small': torch.tensor([1, 2, 3])}, d + '/t/big.pt')
del big
r = torch.load(d + '/c/big.pt')
ok = tuple(r['big'].shape) == (n,) and int(r['big'][-1]) == 7 and r['small'].tolist() == [1, 2, 3] \
     and not bool(r['big'][:-1].any())
print('torch reads ckpt file:', ok)
sys.exit(0 if ok else 1)
PY
cmp "$d/c/big.pt" "$d/t/big.pt"
echo "zip64: ckpt and torch.save wrote identical $(stat -c %s "$d/c/big.pt")-byte files"
