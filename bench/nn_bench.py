#!/usr/bin/python3
"""C layer library forward vs torch eager, one thread (bench/nn_bench.sh runs it).

    /usr/bin/python3 bench/nn_bench.py TOOL [DOC.md]

TOOL is tests/nn_equiv_tool of a Release build (its `bench` mode times the C
forward: best of 5 blocks after a warm-up block).  torch: eval(), no_grad(),
torch.set_num_threads(1), the same models and shapes, timed the same way.
The C side runs with OPENBLAS_NUM_THREADS=1, once with OpenBLAS's own
core detection and once with OPENBLAS_CORETYPE=SkylakeX.  Ratios are
C time / torch time (below 1: C is faster).
"""
import ctypes
import json
import os
import platform
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # importing tests/interop/nn_equiv.py must not litter the tree
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "interop"))
import nn_equiv  # noqa: E402  (the model definitions)

torch.set_num_threads(1)
MODELS = ["mlp", "lenet", "resnet", "transformer", "transformer_pre"]
BATCHES = [1, 64]


def corename(env):
    code = ("import ctypes; l = ctypes.CDLL('libopenblas.so.0'); "
            "l.openblas_get_corename.restype = ctypes.c_char_p; "
            "print(l.openblas_get_corename().decode())")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True).stdout.strip()


def iters_for(model, batch):
    base = {"mlp": 20000, "lenet": 2000, "resnet": 300, "transformer": 1000,
            "transformer_pre": 1000}[model]
    return max(2, base // batch if batch > 1 else base)


def torch_time(model, batch, iters):
    m = nn_equiv.build(model).eval()
    x = nn_equiv.make_input(model, batch, torch.Generator().manual_seed(0))
    best = float("inf")
    with torch.no_grad():
        for k in range(6):
            t0 = time.perf_counter()
            for _ in range(iters):
                m(x)
            dt = (time.perf_counter() - t0) / iters
            if k:
                best = min(best, dt)
    return best


def c_time(tool, model, batch, iters, env):
    r = subprocess.run([tool, "bench", model, str(batch), str(iters)], env=env,
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["sec_per_forward"]


def main():
    tool = sys.argv[1]
    doc = sys.argv[2] if len(sys.argv) > 2 else None
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env_sx = dict(env, OPENBLAS_CORETYPE="SkylakeX")
    core, core_sx = corename(env), corename(env_sx)
    rows = []
    for model in MODELS:
        for b in BATCHES:
            n = iters_for(model, b)
            t = torch_time(model, b, n)
            c = c_time(tool, model, b, n, env)
            c_sx = c_time(tool, model, b, n, env_sx)
            rows.append((model, b, t, c, c_sx))
            print(f"{model:16s} batch {b:3d}: torch {t * 1e6:10.1f} us  C[{core}] "
                  f"{c * 1e6:10.1f} us ({c / t:5.2f}x)  C[{core_sx}] {c_sx * 1e6:10.1f} us "
                  f"({c_sx / t:5.2f}x)", flush=True)
    lines = [
        "# nn forward: C layer library vs torch eager",
        "",
        f"Made by `bench/nn_bench.sh` on {platform.processor() or platform.machine()} "
        f"({os.cpu_count()} CPUs), torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d')}.  One thread on both sides "
        "(`torch.set_num_threads(1)`; `OPENBLAS_NUM_THREADS=1`).  Times are the best of 5 "
        "blocks of N forwards after a warm-up block, per forward; eval mode, float32.  "
        "Ratio = C time / torch time (below 1: C is faster).",
        "",
        f"OpenBLAS core: `{core}` as detected (`openblas_get_corename()`), and "
        f"`{core_sx}` forced with `OPENBLAS_CORETYPE=SkylakeX`.",
        "",
        "Models (tests/interop/nn_equiv.py): mlp 32-64-64-10 (ReLU, GELU); lenet "
        "(1x28x28, conv/BN2d/pool, BN1d, LogSoftmax); resnet (3x32x32, 4 basic blocks, "
        "8-16 channels); transformer (2 encoder layers, d_model 32, 4 heads, ff 64, "
        "sequence 16; post-norm relu batch_first / pre-norm gelu).",
        "",
        f"| model | batch | torch (us) | C {core} (us) | ratio | C {core_sx} (us) | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for model, b, t, c, c_sx in rows:
        lines.append(f"| {model} | {b} | {t * 1e6:.1f} | {c * 1e6:.1f} | {c / t:.2f} | "
                     f"{c_sx * 1e6:.1f} | {c_sx / t:.2f} |")
    text = "\n".join(lines) + "\n"
    if doc:
        with open(doc, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
