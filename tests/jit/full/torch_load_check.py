#!/usr/bin/python3
"""torch.load(weights_only=False) of the full-model pickles ckpt wrote
(test_jit_full__write): each must unpickle into a working torch.nn module
whose output on the saved input equals ckpt's within 1e-5 (abs + rel), whose
state_dict equals the file's tensors, and which torch.save can save again.
Usage: torch_load_check.py DIR.  Exit 77 (skip) without torch."""
import os
import sys

NAMES = ["mlp", "cnn", "seq1d", "convt", "embed", "lstm", "gru"]
ROOTS = {"embed": "Embedding", "lstm": "LSTM", "gru": "GRU"}


def main():
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print("SKIPPED: jit_full_torch_load: torch is not installed (%s)" % e)
        return 77
    d = sys.argv[1]
    bad = 0
    for name in NAMES:
        path = os.path.join(d, name + ".pt")
        kw = {"weights_only": False} if "weights_only" in torch.load.__code__.co_varnames else {}
        m = torch.load(path, **kw)
        if type(m).__name__ != ROOTS.get(name, "Sequential"):
            print("%s: torch.load gave a %s" % (name, type(m)))
            bad += 1
            continue
        x = torch.from_numpy(np.load(os.path.join(d, name + ".in.npy")))
        want = np.load(os.path.join(d, name + ".out.npy"))
        with torch.no_grad():
            y = m(x)
            y = (y[0] if isinstance(y, tuple) else y).numpy()
        diff = np.abs(y.astype(np.float64) - want)
        ok = y.shape == want.shape and bool(np.all(diff <= 1e-5 + 1e-5 * np.abs(want)))
        print("%s: %s, torch output vs ckpt: max diff %.3g%s" % (
            name, " ".join(type(c).__name__ for c in m.modules()), float(diff.max()) if diff.size else 0.0,
            "" if ok else "  FAIL"))
        bad += not ok
        # the module is a real one: its __dict__ has what torch's __init__ makes
        fresh_keys = set(torch.nn.Linear(1, 1).__dict__)
        for mod in m.modules():
            missing = fresh_keys - set(mod.__dict__) - {"in_features", "out_features"}
            if missing:
                print("%s: %s lacks %s" % (name, type(mod).__name__, sorted(missing)))
                bad += 1
        sd = m.state_dict()
        import io
        buf = io.BytesIO()
        torch.save(m, buf)
        buf.seek(0)
        m2 = torch.load(buf, **kw)
        with torch.no_grad():
            a, b = m2(x), m(x)
            if isinstance(a, tuple):
                a, b = a[0], b[0]
            if not torch.equal(a, b):
                print("%s: torch.save/torch.load round trip differs" % name)
                bad += 1
        if list(m2.state_dict()) != list(sd):
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
