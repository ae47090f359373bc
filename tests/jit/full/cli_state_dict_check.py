#!/usr/bin/python3
"""`ckpt extract --state-dict` and `ckpt ls --json` on the full-model fixtures
(tests/fixtures/jit/full) against torch 1.13: the extracted file, loaded by
torch.load (weights-only), equals torch.load(model).state_dict() key for key
and bit for bit.  Usage: cli_state_dict_check.py CKPT OUTDIR.  Exit 77 without torch."""
import os
import subprocess
import sys

NAMES = ["mlp", "cnn", "acts", "conv1d", "convt", "embed", "user_net", "lstm", "gru", "lstm_proj", "rnn_relu",
         "mlp_legacy", "cnn_legacy", "cnn_torch2", "mlp_training"]
FIX = os.path.join("tests", "fixtures", "jit", "full")


def main():
    try:
        import torch
    except ImportError as e:
        print("SKIPPED: jit_full_cli_state_dict: torch is not installed (%s)" % e)
        return 77
    # user_net.pt names __main__.Net: unpickling needs the name only (no code runs)
    globals()["Net"] = type("Net", (torch.nn.Module,), {})
    ckpt, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    bad = 0
    for name in NAMES:
        src = os.path.join(FIX, name + ".pt")
        dst = os.path.join(out, name + ".sd.pt")
        r = subprocess.run([ckpt, "extract", "--state-dict", src, dst], capture_output=True,
                           text=True)
        if r.returncode != 0:
            print("%s: ckpt extract failed: %s" % (name, r.stderr.strip()))
            bad += 1
            continue
        got = torch.load(dst, weights_only=True)
        want = torch.load(src).state_dict()
        same = list(got) == list(want) and all(
            got[k].dtype == want[k].dtype and torch.equal(got[k], want[k]) for k in want)
        print("%s: %d tensors%s" % (name, len(want), "" if same else "  DIFFER"))
        bad += not same
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
