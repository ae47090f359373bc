#!/usr/bin/python3
"""The CLI on the full-model fixtures (tests/fixtures/jit/full) against torch 1.13.
Mode `state-dict`: `ckpt extract --state-dict`, loaded by torch.load (weights-only),
equals torch.load(model).state_dict() key for key and bit for bit.
Mode `run`: `ckpt run MODEL --input input=X.npy` writes output_0.npy, output_1.npy, ...
equal to the model's flattened result (the generator's NAME.out*.npy, from torch)
within 1e-5.  Usage: cli_state_dict_check.py CKPT OUTDIR [state-dict|run].
Exit 77 without torch."""
import os
import subprocess
import sys

NAMES = ["mlp", "cnn", "acts", "conv1d", "convt", "embed", "user_net", "lstm", "gru", "lstm_proj", "rnn_relu", "transformer", "transformer_enc", "mha",
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
    mode = sys.argv[3] if len(sys.argv) > 3 else "state-dict"
    os.makedirs(out, exist_ok=True)
    if mode == "run":
        return run_check(ckpt, out)
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


def run_check(ckpt, out):
    import numpy as np
    bad = 0
    for name in NAMES:
        if name in ("user_net", "mha"):
            continue
        src = os.path.join(FIX, name + ".pt")
        od = os.path.join(out, name)
        r = subprocess.run([ckpt, "run", src, "--input",
                            ("src=" if name.startswith("transformer") else "input=") +
                            os.path.join(FIX, name + ".in.npy"), "--output-dir", od],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("%s: ckpt run failed: %s" % (name, r.stderr.strip()))
            bad += 1
            continue
        k = 0
        while os.path.exists(os.path.join(FIX, name + (".out.npy" if k == 0 else ".out%d.npy" % k))):
            want = np.load(os.path.join(FIX, name + (".out.npy" if k == 0 else ".out%d.npy" % k)))
            got = np.load(os.path.join(od, "output_%d.npy" % k))
            d = np.abs(got.astype(np.float64) - want)
            ok = got.shape == want.shape and bool(np.all(d <= 1e-5 + 1e-5 * np.abs(want)))
            print("%s output_%d: max diff %.3g%s" % (name, k, float(d.max()), "" if ok else " FAIL"))
            bad += not ok
            k += 1
        if os.path.exists(os.path.join(od, "output_%d.npy" % k)):
            print("%s: more outputs than torch gave" % name)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
