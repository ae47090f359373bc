#!/usr/bin/python3
"""bench/report.py RESULTS.jsonl BUILD_DIR SECONDS [DOC.md]

Turns the JSON lines of bench_ckpt / bench_torch.py into the comparison table
(printed), and, given DOC.md, writes docs/BENCHMARKS.md around it.
"""
import datetime
import json
import os
import platform
import subprocess
import sys

MIB = 1024 * 1024


def load_results(path):
    recs = []
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line.startswith("{"):
                recs.append(json.loads(line))
    return recs


class R:
    def __init__(self, recs):
        self.recs = recs

    def get(self, side, op, stem=None):
        for r in self.recs:
            if r.get("side") == side and r.get("op") == op and (
                    stem is None or os.path.basename(r.get("file", "")) == stem):
                return r
        return None

    def t(self, side, op, stem=None):
        r = self.get(side, op, stem)
        return None if r is None else r["median_s"]


def fmt_t(s):
    if s is None:
        return "n/a"
    if s < 1e-3:
        return "%.0f µs" % (s * 1e6)
    if s < 0.1:
        return "%.2f ms" % (s * 1e3)
    return "%.3f s" % s


def fmt_ratio(x):
    return "n/a" if x is None else ("%.1f×" % x if x >= 10 else "%.2f×" % x)


def div(a, b):
    return None if a is None or b is None or b == 0 else a / b


def spread(r):
    if r is None:
        return ""
    return "%d runs, %s–%s" % (r["n"], fmt_t(r["min_s"]), fmt_t(r["max_s"]))


def machine():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except Exception:
            return "?"
    cpu = "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    try:
        import torch
        tv = torch.__version__
    except Exception:
        tv = "?"
    thp = sh("cat /sys/kernel/mm/transparent_hugepage/enabled")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rev = os.environ.get("CKPT_BENCH_REV") or sh(
        "git -C '%s' rev-parse --short HEAD 2>/dev/null && "
        "git -C '%s' status --porcelain -- src include | grep -q . && echo '(src modified)'"
        % (root, root)).replace("\n", " ")
    return [
        ("ckpt source", rev or "?"),
        ("nproc", sh("nproc")),
        ("CPU", cpu + " (" + sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'") + " guest)"
         if sh("lscpu | grep -c Hypervisor") not in ("", "0") else cpu),
        ("memory", mem),
        ("kernel", platform.release()),
        ("torch", "%s (Debian python3-torch, %s)" % (tv, sys.executable)),
        ("C compiler", sh("cc --version | head -1")),
        ("glibc", platform.libc_ver()[1]),
        ("transparent huge pages", thp),
        ("disk (bench folder)", sh("df -PT /tmp | awk 'NR==2 {print $1\" \"$2}'")),
    ]


def build(recs):
    r = R(recs)
    rows = []   # (section, what, ckpt, torch, ratio, target, met)
    verdicts = []

    def row(section, what, ck, to, ratio, target="", met=None):
        rows.append((section, what, ck, to, ratio, target,
                     "" if met is None else ("**yes**" if met else "**no**")))
        if met is not None:
            verdicts.append((section + ": " + what, target, met))

    big, mid, small = "big.pt", "mid.pt", "small.pt"
    S1 = "1 GiB (16 × 64 MiB f32)"
    S2 = "100,000 small tensors"

    ck_copy = r.t("ckpt", "load-copy", big)
    to_wo = r.t("torch", "load-wo", big)
    to_full = r.t("torch", "load-full", big)
    rd_fresh = r.t("ckpt", "read-fresh", big)
    rd_pre = r.t("ckpt", "read-prefaulted", big)
    mc_pre = r.t("ckpt", "memcpy-prefaulted")
    mc_fresh = r.t("ckpt", "memcpy-fresh")
    x = div(to_wo, ck_copy)
    row(S1, "load, owned memory: ckpt COPY vs torch.load(weights_only=True)", fmt_t(ck_copy),
        fmt_t(to_wo), fmt_ratio(x), "≥ 3×", x is not None and x >= 3)
    row(S1, "load, owned memory: ckpt COPY vs torch.load(weights_only=False)", fmt_t(ck_copy),
        fmt_t(to_full), fmt_ratio(div(to_full, ck_copy)))
    y = div(ck_copy, rd_fresh)
    row(S1, "limit: read() whole file into a fresh malloc'd buffer (ckpt COPY / this)",
        fmt_t(rd_fresh), "", "%.2f× of limit" % y if y else "n/a", "≤ 1.5×",
        y is not None and y <= 1.5)
    y2 = div(ck_copy, rd_pre)
    row(S1, "limit: read() whole file into a pre-faulted buffer (ckpt COPY / this)",
        fmt_t(rd_pre), "", "%.2f× of limit" % y2 if y2 else "n/a")
    row(S1, "limit: memcpy 1 GiB, pre-faulted destination", fmt_t(mc_pre), "", "")
    row(S1, "limit: memcpy 1 GiB into a fresh malloc'd buffer", fmt_t(mc_fresh), "", "")

    thp_ck = r.t("ckpt", "load-copy-thp", big)
    thp_to = r.t("torch", "load-wo-thp", big)
    thp_rd = r.t("ckpt", "read-fresh-thp", big)
    if thp_ck is not None:
        row(S1, "what-if, huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1): ckpt COPY vs "
            "torch weights_only", fmt_t(thp_ck), fmt_t(thp_to), fmt_ratio(div(thp_to, thp_ck)),
            "(≥ 3×)", None)
        row(S1, "what-if, huge pages: read() into a fresh buffer (ckpt COPY / this)",
            fmt_t(thp_rd), "", "%.2f× of limit" % div(thp_ck, thp_rd) if thp_rd else "n/a")

    mm_big = r.t("ckpt", "load-mmap", big)
    mm_mid = r.t("ckpt", "load-mmap", mid)
    row(S1, "load, mmap: ckpt MMAP, 1 GiB file (torch 1.13 has no mmap load)", fmt_t(mm_big),
        "—", "", "< 5 ms", mm_big is not None and mm_big < 5e-3)
    row(S1, "load, mmap: ckpt MMAP, 64 MiB file (1 tensor)", fmt_t(mm_mid), "—", "",
        "< 5 ms, ≈ size-independent", mm_mid is not None and mm_mid < 5e-3)

    to_save = r.t("torch", "save", big)
    ck_nof = r.t("ckpt", "save-nofsync", big)
    ck_fs = r.t("ckpt", "save-fsync", big)
    x = div(to_save, ck_nof)
    row(S1, "save: ckpt_save .no_fsync vs torch.save (neither fsyncs)", fmt_t(ck_nof),
        fmt_t(to_save), fmt_ratio(x), "≥ 5×", x is not None and x >= 5)
    row(S1, "save: ckpt_save with fsync (default) vs torch.save (no fsync)", fmt_t(ck_fs),
        fmt_t(to_save), fmt_ratio(div(to_save, ck_fs)))
    wr = r.t("ckpt", "write-nofsync")
    wrf = r.t("ckpt", "write-fsync")
    row(S1, "limit: write() 1 GiB into a new file, no fsync (ckpt .no_fsync / this)",
        fmt_t(wr), "", "%.2f× of limit" % div(ck_nof, wr) if wr and ck_nof else "n/a")
    row(S1, "limit: write() 1 GiB into a new file + fsync (ckpt fsync / this)", fmt_t(wrf), "",
        "%.2f× of limit" % div(ck_fs, wrf) if wrf and ck_fs else "n/a")
    same = r.get("check", "same-bytes", big)
    if same is not None:
        row(S1, "save: ckpt output byte-identical to torch.save output", "yes" if same["same"]
            else "NO", "", "")

    rc = r.get("ckpt", "rss-copy", big)
    rm = r.get("ckpt", "rss-mmap", big)
    rmt = r.get("ckpt", "rss-mmap-touch", big)
    rt = r.get("torch", "rss-wo", big)
    if rc:
        lim = rc["tensor_bytes"] / MIB + 32
        got = rc["maxrss_kib"] / 1024
        row(S1, "peak RSS, COPY load (fresh process)", "%.0f MiB" % got,
            "%.0f MiB (+%.0f MiB before load)" % ((rt["maxrss_kib"] - rt["maxrss_before_kib"])
                                                  / 1024, rt["maxrss_before_kib"] / 1024)
            if rt else "", "", "≤ %.0f MiB (tensors + 32)" % lim, got <= lim)
    if rm:
        got = rm["maxrss_kib"] / 1024
        row(S1, "peak RSS, MMAP load, no tensor byte read", "%.1f MiB" % got, "—", "",
            "≤ 32 MiB", got <= 32)
    if rmt:
        got = rmt["maxrss_kib"] / 1024
        lim = rmt["tensor_bytes"] / MIB + 32
        row(S1, "peak RSS, MMAP load, then every page of every tensor read", "%.0f MiB" % got,
            "—", "", "≤ %.0f MiB (32 + pages touched)" % lim, got <= lim)

    ck_s = r.t("ckpt", "load-copy", small)
    ck_sm = r.t("ckpt", "load-mmap", small)
    to_s = r.t("torch", "load-wo", small)
    to_sf = r.t("torch", "load-full", small)
    x = div(to_s, ck_s)
    row(S2, "load: ckpt COPY vs torch.load(weights_only=True)", fmt_t(ck_s), fmt_t(to_s),
        fmt_ratio(x), "≥ 30×", x is not None and x >= 30)
    row(S2, "load: ckpt COPY vs torch.load(weights_only=False)", fmt_t(ck_s), fmt_t(to_sf),
        fmt_ratio(div(to_sf, ck_s)))
    row(S2, "load: ckpt MMAP vs torch.load(weights_only=True)", fmt_t(ck_sm), fmt_t(to_s),
        fmt_ratio(div(to_s, ck_sm)))
    to_ss = r.t("torch", "save", small)
    ck_snf = r.t("ckpt", "save-nofsync", small)
    ck_sfs = r.t("ckpt", "save-fsync", small)
    ck_s27 = r.t("ckpt", "save-nofsync-l27", small)
    x = div(to_ss, ck_snf)
    row(S2, "save: ckpt_save .no_fsync vs torch.save (neither fsyncs)", fmt_t(ck_snf),
        fmt_t(to_ss), fmt_ratio(x), "≥ 15×", x is not None and x >= 15)
    row(S2, "save: ckpt_save with fsync vs torch.save (no fsync)", fmt_t(ck_sfs), fmt_t(to_ss),
        fmt_ratio(div(to_ss, ck_sfs)))
    row(S2, "save: ckpt_save .no_fsync, torch 2.7 layout (numeric record order)",
        fmt_t(ck_s27), "", "")
    same = r.get("check", "same-bytes", small)
    if same is not None:
        row(S2, "save: ckpt output byte-identical to torch.save output", "yes" if same["same"]
            else "NO", "", "")
    return r, rows, verdicts


def table(rows):
    out = ["| | operation | ckpt | torch | torch / ckpt | target | met |",
           "|---|---|---|---|---|---|---|"]
    last = None
    for sec, what, ck, to, ratio, target, met in rows:
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            sec if sec != last else "", what, ck, to, ratio, target, met))
        last = sec
    return "\n".join(out)


def runs_table(recs):
    out = ["| side | operation | file | runs | median | min | max |",
           "|---|---|---|---|---|---|---|"]
    for r in recs:
        if "median_s" not in r:
            continue
        out.append("| %s | %s | %s | %d | %s | %s | %s |" % (
            r["side"], r["op"], os.path.basename(r.get("file", "")) or "—", r["n"],
            fmt_t(r["median_s"]), fmt_t(r["min_s"]), fmt_t(r["max_s"])))
    return "\n".join(out)


def main(a):
    res, build_dir, secs = a[0], a[1], int(a[2])
    doc = a[3] if len(a) > 3 else None
    recs = load_results(res)
    r, rows, verdicts = build(recs)
    tab = table(rows)
    print()
    print(tab)
    print()
    met = sum(1 for v in verdicts if v[2])
    print("targets met: %d of %d" % (met, len(verdicts)))
    rq = r.get("env", "runq")
    if rq and rq["mean"] > 2.5:
        print("WARNING: other work ran during the benchmark (mean run queue %.2f): "
              "the numbers are noisy" % rq["mean"])
    for what, target, ok in verdicts:
        print("  %-4s %s (target %s)" % ("yes" if ok else "NO", what, target))
    crc_ok = []
    for stem in ("big.pt", "small.pt"):
        c, t = r.get("ckpt", "crc", stem), r.get("torch", "crc", stem)
        crc_ok.append(bool(c and t and c["crc"] == t["crc"] and c["tensors"] == t["tensors"]))
    if not all(crc_ok):
        print("WARNING: ckpt and torch disagree on the tensor bytes (CRC check failed)")
    if doc is None:
        return
    mach = machine()
    gen = r.get("torch", "gen")
    rq = r.get("env", "runq")
    if rq:
        quiet = ("runnable tasks sampled once a second: mean %.2f, max %d (the sampler and the benchmark "
                 "account for ~2, %s CPUs); load average %s at start, %s at end"
                 % (rq["mean"], rq["max"], os.cpu_count(), rq["loadavg_start"],
                    rq["loadavg_end"]))
    else:
        quiet = "not sampled"
    template = open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "BENCHMARKS.md.in")).read()
    text = template.format(
        date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M %Z").strip(),
        seconds=secs,
        build=build_dir,
        machine="\n".join("| %s | %s |" % kv for kv in mach),
        table=tab,
        met=met, total=len(verdicts),
        verdicts="\n".join("- %s — %s (target %s)" % ("met" if ok else "**not met**", what,
                                                       target) for what, target, ok in verdicts),
        crc="identical (CRC-32 of all tensor bytes, both files)" if all(crc_ok)
        else "**DIFFERENT: see results**",
        runs=runs_table(recs),
        gen=json.dumps(gen["made"]) if gen else "?",
        quiet=quiet,
        noise=("> **Noisy run:** other jobs shared this 2-vCPU machine during the "
               "measurements (mean run queue %.2f where ~2 means quiet); absolute times "
               "are inflated and spread is wide, so read the ratios as approximate.\n"
               % rq["mean"]) if rq and rq["mean"] > 2.5 else "",
    )
    # the sections other benchmarks keep after this one's "All runs" (issue 5 onwards) stay
    if os.path.exists(doc):
        old = open(doc).read()
        at = old.find("\n## All runs")
        nxt = old.find("\n## ", at + 1) if at >= 0 else -1
        if nxt >= 0:
            text = text.rstrip("\n") + "\n" + old[nxt:]
    with open(doc, "w") as fh:
        fh.write(text)
    print("wrote " + doc)


if __name__ == "__main__":
    main(sys.argv[1:])
