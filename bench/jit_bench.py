#!/usr/bin/env python3
"""bench/jit_bench.py load PATH REPS | run PATH D0,D1,... REPS - the torch side of
bench/jit_bench.sh: torch.jit.load time, or forward latency of a TorchScript
archive under torch.jit.load in torch (1 thread, no grad), as one JSON line."""
import json
import resource
import statistics
import sys
import time

import torch


def main():
    torch.set_num_threads(1)
    mode, path = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[-1])
    if mode == "load":
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            m = torch.jit.load(path, map_location="cpu")
            ts.append((time.perf_counter() - t0) * 1e3)
            del m
        print(json.dumps({"load_ms": statistics.median(ts), "min_ms": min(ts)}))
        return
    shape = [int(d) for d in sys.argv[3].split(",")]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    m = torch.jit.load(path, map_location="cpu").eval()
    load_ms = (time.perf_counter() - t0) * 1e3
    x = torch.rand(shape) * 2 - 1
    ts = []
    with torch.no_grad():
        for _ in range(3):
            m(x)
        for _ in range(reps):
            t0 = time.perf_counter()
            m(x)
            ts.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"load_ms": load_ms, "median_ms": statistics.median(ts), "min_ms": min(ts),
                      "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0}))


if __name__ == "__main__":
    main()
