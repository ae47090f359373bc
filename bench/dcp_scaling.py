"""bench/dcp_scaling.py SAVES.jsonl META.jsonl [OUT.md] - the save-time model of
docs/DCP_SCALING.md, evaluated from the per-rank costs bench/dcp_bench.sh measured.

T(N) = t_prepare + t_creates + max_r(S/b + t_fsync) + t_collectives + t_gather(N)
       + t_metadata(N) + t_commit

Measured (SAVES.jsonl, from ckpt-mpi save --stats): the write throughput w of one rank
(bytes / t_write of the 1-rank save, fsync included).  Measured (META.jsonl, from
bench/dcp_meta_bench): plan bytes per chunk p (what the gather moves), .metadata bytes
per chunk m, and rank 0's ckpt_dcp_write_metadata time for C chunks, fitted as
t(C) = a*C + q*C^2 (least squares).  Assumed: the named constants of ASSUME (a parallel
file system and fabric of a current cluster); change one and rerun.
"""
import json
import math
import sys

ASSUME = {
    "ranks_per_node": 8,           # one rank per GPU
    "node_write_GBps": 10.0,       # a node's client link to the file system (100 Gb/s)
    "fs_aggregate_GBps": 200.0,    # the file system's aggregate write bandwidth
    "mds_creates_per_s": 20000.0,  # file creates the metadata servers sustain
    "mds_op_s": 0.002,             # one mkdir / rename / folder fsync / readdir on the PFS
    "fsync_s": 0.010,              # fsync latency of one large file beyond its bandwidth
    "hop_latency_s": 5e-6,         # one MPI message hop (InfiniBand)
    "root_link_GBps": 10.0,        # rank 0's link: what a gather to it is bound by
    "shard_GiB": 1.0,              # weak scaling: each rank saves 1 GiB ...
    "chunks_per_rank": 500,        # ... in 500 chunks (a transformer's tensors, FSDP-sharded)
}


def fit(points):
    """least squares t = a*C + q*C^2 (no constant: the fsync is in the model apart)"""
    s11 = sum(c * c for c, _ in points)
    s12 = sum(c ** 3 for c, _ in points)
    s22 = sum(c ** 4 for c, _ in points)
    y1 = sum(c * t for c, t in points)
    y2 = sum(c * c * t for c, t in points)
    det = s11 * s22 - s12 * s12
    a = (y1 * s22 - y2 * s12) / det
    q = (s11 * y2 - s12 * y1) / det
    return max(a, 0.0), max(q, 0.0)


def main():
    saves = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    meta = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    one = [r for r in saves if r["op"] == "save" and r["nranks"] == 1][0]
    w = one["bytes"] / one["t_write"] / 1e9
    p = sum(r["plan_bytes_per_rank"] / r["chunks_per_rank"] for r in meta) / len(meta)
    m = max(r["metadata_bytes"] / r["chunks"] for r in meta)
    a, q = fit([(r["chunks"], r["t_metadata"]) for r in meta])
    small = min(meta, key=lambda r: r["chunks"])
    # per-chunk cost of a linear merge: the fit's linear term, or (when the fit puts it all
    # in the C^2 term) the smallest run's time per chunk, which also carries its fsync
    a_lin = a if a > 0 else small["t_metadata"] / small["chunks"]
    A = ASSUME
    S = A["shard_GiB"] * 2**30
    k = A["chunks_per_rank"]
    out = [f"Measured here: one rank writes {w:.2f} GB/s (fsync included); a plan is {p:.0f} B "
           f"per chunk; .metadata {m:.0f} B per chunk; rank 0's ckpt_dcp_write_metadata over C "
           f"chunks took " + ", ".join(f"{r['t_metadata']:.3f} s for {r['chunks']}" for r in meta)
           + f" (fit: {a * 1e6:.1f} us x C + {q * 1e9:.2f} ns x C^2; a linear merge is taken "
           f"at {a_lin * 1e6:.1f} us per chunk).\n",
           f"Assumed: {A['shard_GiB']:g} GiB and {k} chunks per rank (weak scaling), "
           f"{A['ranks_per_node']} ranks per node, node link {A['node_write_GBps']:g} GB/s, file "
           f"system {A['fs_aggregate_GBps']:g} GB/s aggregate, {A['mds_creates_per_s']:g} creates/s, "
           f"{A['mds_op_s'] * 1e3:g} ms per metadata-server op, {A['fsync_s'] * 1e3:g} ms per "
           f"fsync, {A['hop_latency_s'] * 1e6:g} us per MPI hop, rank 0 link "
           f"{A['root_link_GBps']:g} GB/s.\n",
           "| ranks | total GiB | per-rank GB/s | write+fsync s | creates s | collectives ms "
           "| gather MB | gather ms | .metadata MB | .metadata s (as built) | save s (as built) "
           "| .metadata s (linear merge) | save s (linear merge) | aggregate GB/s (linear) |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in (1, 8, 64, 256, 1000, 4000):
        b = min(w, A["node_write_GBps"] / min(n, A["ranks_per_node"]), A["fs_aggregate_GBps"] / n)
        write = S / (b * 1e9) + A["fsync_s"]
        creates = n / A["mds_creates_per_s"]
        lg = math.ceil(math.log2(n)) if n > 1 else 0
        coll = 5 * 2 * lg * A["hop_latency_s"]            # 5 agree() = allreduce + bcast
        gbytes = n * (k * p + 8)
        gather = gbytes / (A["root_link_GBps"] * 1e9) + lg * A["hop_latency_s"]
        c = n * k
        meta_built = a * c + q * c * c + A["fsync_s"]
        meta_lin = a_lin * c + A["fsync_s"]
        commit = 3 * A["mds_op_s"]                          # folder fsync, rename, parent fsync
        prep = 2 * A["mds_op_s"] + lg * A["hop_latency_s"]  # readdir (stale) + mkdtemp + bcast
        rest = prep + creates + write + coll + gather + commit
        out.append(f"| {n} | {n * A['shard_GiB']:g} | {b:.2f} | {write:.2f} | {creates:.3f} | "
                   f"{coll * 1e3:.2f} | {gbytes / 1e6:.1f} | {gather * 1e3:.1f} | "
                   f"{c * m / 1e6:.1f} | {meta_built:.1f} | {rest + meta_built:.1f} | "
                   f"{meta_lin:.2f} | {rest + meta_lin:.2f} | {n * S / (rest + meta_lin) / 1e9:.0f} |")
    text = "\n".join(out) + "\n"
    if len(sys.argv) > 3:
        with open(sys.argv[3], "a") as f:
            f.write("\n" + text)
    print(text)


main()
