#!/usr/bin/env python3
"""bench/onnx_report.py RESULTS.jsonl - the ONNX benchmark's Markdown table:
per model, batch and thread count, ckpt and ONNX Runtime latency (median ms),
their ratio (ckpt / ORT, < 1 is faster), session creation and peak memory."""
import json
import sys


def cell(d, k, fmt):
    return fmt % d[k] if isinstance(d, dict) and k in d else "n/a"


def main():
    rows = []
    for line in open(sys.argv[1]):
        line = line.strip()
        if not line:
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            print("unparsable result line:", line[:200])
    print("| model | batch | threads | ckpt ms | ORT ms | ratio | create ckpt/ORT ms | peak MiB ckpt/ORT |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        c, o = r["ckpt"], r["ort"]
        ratio = "n/a"
        if "median_ms" in c and "median_ms" in o and o["median_ms"] > 0:
            ratio = "%.2f×" % (c["median_ms"] / o["median_ms"])
        create = "%s / %s" % (cell(c, "create_ms", "%.2f"), cell(o, "create_ms", "%.2f"))
        peak = "%s / %s" % (
            "%.1f" % (c["peak_kb"] / 1024) if "peak_kb" in c else "n/a",
            "%.1f" % (o["peak_kb"] / 1024) if "peak_kb" in o else "n/a")
        err = ""
        if "error" in c:
            err += " ckpt: " + str(c["error"])
        if "error" in o:
            err += " ORT: " + str(o["error"])
        print("| %s | %d | %d | %s | %s | %s | %s | %s |%s" % (
            r["model"], r["batch"], r["threads"], cell(c, "median_ms", "%.4f"),
            cell(o, "median_ms", "%.4f"), ratio, create, peak, err))


if __name__ == "__main__":
    main()
