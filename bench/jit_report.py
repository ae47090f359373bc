#!/usr/bin/env python3
"""bench/jit_report.py RESULTS.jsonl - the jit benchmark's Markdown tables: load
time of each real archive (ckpt / torch.jit.load, target >= 10x faster) and the
forward latency of the five models (ckpt / torch, < 1 is faster, target <= 1.0x)."""
import json
import sys


def ms(d, k):
    return "%.3f" % d[k] if isinstance(d, dict) and k in d else "n/a"


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    print("Load time (median of several loads, one process per side):\n")
    print("| archive | ckpt ms | torch.jit.load ms | torch / ckpt |")
    print("|---|---|---|---|")
    for r in rows:
        if r["kind"] != "load":
            continue
        c, t = r["ckpt"], r["torch"]
        sp = "n/a"
        if "load_ms" in c and "load_ms" in t and c["load_ms"] > 0:
            sp = "%.1f× faster" % (t["load_ms"] / c["load_ms"])
        note = "; ".join(x["error"] for x in (c, t) if "error" in x)
        print("| %s | %s | %s | %s%s |" % (r["model"][:70], ms(c, "load_ms"), ms(t, "load_ms"), sp,
                                           (" (" + note + ")") if note else ""))
    print("\nForward latency, one thread (median ms; ratio = ckpt / torch, < 1 is faster):\n")
    print("| model | batch | ckpt ms | torch ms | ratio | peak MiB ckpt / torch |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if r["kind"] != "run":
            continue
        c, t = r["ckpt"], r["torch"]
        ratio = "n/a"
        if "median_ms" in c and "median_ms" in t and t["median_ms"] > 0:
            ratio = "%.2f×" % (c["median_ms"] / t["median_ms"])
        peak = "%s / %s" % ("%.1f" % (c["peak_kb"] / 1024) if "peak_kb" in c else "n/a",
                            "%.1f" % (t["peak_kb"] / 1024) if "peak_kb" in t else "n/a")
        note = "; ".join(x["error"] for x in (c, t) if "error" in x)
        print("| %s | %d | %s | %s | %s | %s |%s" % (r["model"], r["batch"], ms(c, "median_ms"),
                                                     ms(t, "median_ms"), ratio, peak,
                                                     (" " + note) if note else ""))


if __name__ == "__main__":
    main()
