#!/usr/bin/env bash
# tests/mpi/mpi_test.sh MPIEXEC CKPT_MPI WORKDIR CASE - parallel DCP save/load over MPI,
# checked against torch 1.13 (tests/mpi/mpi_check.py).
#   saveN_loadM_HOW   save a torch state dict with N ranks (rows or whole, HOW = the save
#                     rule_the load rule), load it back with M ranks, compare every rank's
#                     share with torch.chunk / round-robin of torch.load's tensors, and the
#                     shards gathered to rank 0 (--gather) as a .pt with torch.load
#   rank_death        rank 1 is killed (SIGXFSZ) while writing its .distcp: the old checkpoint
#                     is intact, the new one absent; the next save cleans the temporary folder
#   rank_error        rank 1's write fails (EFBIG): every rank exits 2 naming rank 1, the old
#                     checkpoint is intact and no temporary folder is left
set -euo pipefail
mpiexec=$1 tool=$2 work=$3 case=$4
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# one machine: no network interfaces to probe, no warnings about them
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
    echo "SKIPPED: mpi_$case: /usr/bin/python3 has no torch/numpy (scripts/deps.sh test)"
    exit 77
fi
run() { local n=$1; shift; "$mpiexec" --oversubscribe -np "$n" "$tool" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"

case "$case" in
save*_load*)
    spec=${case#save}            # e.g. 4_load2_rows or 2_load3_whole_rows
    n=${spec%%_load*}
    rest=${spec#*_load}
    m=${rest%%_*}
    how=${rest#*_}
    save_how=${how%%_*} load_how=${how#*_}
    "$py" "$here/mpi_check.py" gen in.pt 1
    run "$n" save in.pt ck --shard "$save_how"
    [ -f ck/.metadata ] || fail "no ck/.metadata"
    for r in $(seq 0 $((n - 1))); do [ -f "ck/__${r}_0.distcp" ] || fail "no __${r}_0.distcp"; done
    ls -d ck.tmp-* 2>/dev/null && fail "temporary folder left"
    run "$m" load ck out --shard "$load_how" --gather gathered.pt
    "$py" "$here/mpi_check.py" check in.pt out "$m" "$load_how" gathered.pt
    ;;
rank_death | rank_error)
    "$py" "$here/mpi_check.py" gen old.pt 1 new.pt 2
    run 2 save old.pt ck
    sum_before=$(cd ck && ls -A | sort && cat .metadata __*.distcp | md5sum)
    if [ "$case" = rank_death ]; then hook=--die-after-bytes; else hook=--fail-after-bytes; fi
    set +e
    run 2 save new.pt ck "$hook" 64 --on-rank 1 >log 2>&1
    rc=$?
    set -e
    cat log
    [ "$rc" -ne 0 ] || fail "a save with a failing rank 1 succeeded"
    sum_after=$(cd ck && ls -A | sort && cat .metadata __*.distcp | md5sum)
    # byte for byte the folder the first save committed (which the save/load cases check)
    [ "$sum_before" = "$sum_after" ] || fail "the previous checkpoint changed"
    if [ "$case" = rank_death ]; then
        grep -q "signal 25" log || fail "rank 1 did not die of SIGXFSZ"
        ls -d ck.tmp-* >/dev/null 2>&1 || fail "expected the dead save's temporary folder"
    else
        grep -q "rank 1:" log || fail "the error does not name rank 1"
        ls -d ck.tmp-* 2>/dev/null && fail "temporary folder left after an error"
    fi
    # the next save replaces the checkpoint and removes stale temporaries
    run 2 save new.pt ck
    ls -d ck.tmp-* 2>/dev/null && fail "stale temporary folder not removed"
    run 2 load ck new_back
    "$py" "$here/mpi_check.py" check new.pt new_back 2 rows
    ;;
*) fail "unknown case $case" ;;
esac
echo "ok: $case"
