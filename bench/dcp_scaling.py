"""bench/dcp_scaling.py JSONL [OUT.md] - the save-time model of docs/DCP_SCALING.md,
evaluated from the per-rank costs bench/dcp_bench.sh measured on this machine.

T(N) = t_prepare + max_r(t_create + S/b + t_fsync) + t_allreduce + t_gather(N)
       + t_metadata(N) + t_commit

Measured here (from the JSONL): the write throughput w of one rank (bytes / t_write of
the 1-rank save, fsync included), the plan bytes per chunk p (plan_bytes / chunks a rank
wrote), the .metadata bytes per chunk m and rank 0's time per chunk to merge the plans
and write .metadata (t_metadata / all chunks).  Assumed (a parallel file system and a
fabric of today's clusters; each is a named constant below, change it and rerun):
"""
import json
import math
import sys

ASSUME = {
    "ranks_per_node": 8,           # one rank per GPU
    "node_write_GBps": 10.0,       # a node's client link to the file system (100 Gb/s)
    "fs_aggregate_GBps": 200.0,    # the file system's aggregate write bandwidth
    "mds_creates_per_s": 20000.0,  # file creates one metadata server sustains
    "mds_op_s": 0.002,             # mkdir / rename / folder fsync / readdir on the PFS
    "fsync_s": 0.010,              # extra fsync latency of one large file on the PFS
    "hop_latency_s": 5e-6,         # one MPI message hop (InfiniBand)
    "root_link_GBps": 10.0,        # rank 0's link, what a gather to it is bound by
    "shard_GiB": 1.0,              # weak scaling: each rank saves 1 GiB ...
    "chunks_per_rank": 500,        # ... in 500 chunks (a transformer's tensors, FSDP-sharded)
}


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    saves = [r for r in rows if r["op"] == "save"]
    one = [r for r in saves if r["nranks"] == 1][0]
    w = one["bytes"] / one["t_write"] / 1e9            # GB/s of one rank, fsync included
    chunks1 = 16                                          # bench: 16 tensors, one chunk each per rank
    p = one["plan_bytes"] / chunks1                       # plan bytes per chunk
    big = max(saves, key=lambda r: r["nranks"])
    r0 = [r for r in saves if r["nranks"] == big["nranks"] and r["rank"] == 0][0]
    total_chunks = chunks1 * big["nranks"]
    m = r0["metadata_bytes"] / total_chunks               # .metadata bytes per chunk
    tm = r0["t_metadata"] / total_chunks                  # rank-0 seconds per chunk
    A = ASSUME
    S = A["shard_GiB"] * 2**30
    k = A["chunks_per_rank"]
    out = []
    out.append(f"Measured on this machine: one rank writes {w:.2f} GB/s (fsync included); a plan "
               f"costs {p:.0f} B per chunk; .metadata {m:.0f} B per chunk; rank 0 merges plans and "
               f"writes .metadata in {tm * 1e6:.1f} us per chunk (from the {big['nranks']}-rank save).\n")
    out.append(f"Model: {A['shard_GiB']:g} GiB and {k} chunks per rank (weak scaling), "
               f"{A['ranks_per_node']} ranks per node, node link {A['node_write_GBps']:g} GB/s, "
               f"file system {A['fs_aggregate_GBps']:g} GB/s aggregate, {A['mds_creates_per_s']:g} "
               f"creates/s, {A['mds_op_s'] * 1e3:g} ms per metadata-server op, "
               f"{A['hop_latency_s'] * 1e6:g} us per MPI hop, rank 0 link {A['root_link_GBps']:g} GB/s.\n")
    out.append("| ranks | total GiB | per-rank GB/s | write s | creates s | allreduce+bcast ms "
               "| gather MB | gather ms | .metadata MB | .metadata s | commit ms | save s | "
               "aggregate GB/s |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (1, 8, 64, 256, 1000, 4000):
        b = min(w, A["node_write_GBps"] / min(n, A["ranks_per_node"]), A["fs_aggregate_GBps"] / n)
        write = S / (b * 1e9) + A["fsync_s"]
        creates = n / A["mds_creates_per_s"]
        lg = math.ceil(math.log2(n)) if n > 1 else 0
        coll = 4 * 2 * lg * A["hop_latency_s"]             # 4 agree() = allreduce + bcast each
        gbytes = n * (k * p + 8)
        gather = gbytes / (A["root_link_GBps"] * 1e9) + lg * A["hop_latency_s"]
        mbytes = n * k * m
        meta = n * k * tm + A["fsync_s"]
        commit = 3 * A["mds_op_s"]                         # folder fsync + rename + parent fsync
        prep = 2 * A["mds_op_s"] + lg * A["hop_latency_s"]  # readdir for stale + mkdtemp
        total = prep + creates + write + coll + gather + meta + commit
        out.append(f"| {n} | {n * A['shard_GiB']:g} | {b:.2f} | {write:.2f} | {creates:.3f} | "
                   f"{coll * 1e3:.2f} | {gbytes / 1e6:.1f} | {gather * 1e3:.1f} | "
                   f"{mbytes / 1e6:.1f} | {meta:.2f} | {commit * 1e3:.0f} | {total:.2f} | "
                   f"{n * S / total / 1e9:.0f} |")
    text = "\n".join(out) + "\n"
    if len(sys.argv) > 2:
        with open(sys.argv[2], "a") as f:
            f.write("\n" + text)
    print(text)


main()
