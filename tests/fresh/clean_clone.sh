#!/usr/bin/env bash
# tests/fresh/clean_clone.sh [REPO] - what a stranger gets (CTest fresh_clean_clone).
#
# Clones the committed HEAD of REPO (default: this checkout) into a temporary folder
# that has no ../shared beside it, configures, builds and runs ctest there: every
# tier except slow, valgrind (it runs in the main tree; here it would add ~90 s for
# files the unit tier already reads) and this fresh tier itself.  It fails when the
# clone does not build, when any test fails, when a test that reads
# ../shared/fixtures/real is not reported "Skipped" by CTest, or when a skipped
# test gives no "SKIPPED: <test>: <reason>" line.  Uncommitted changes of REPO are
# not in the clone (it says how many there are).
#
# Environment: CKPT_FRESH_JOBS (default 2) build and ctest jobs; CKPT_FRESH_KEEP=1
# keeps the temporary folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=${1:-$(cd "$here/../.." && pwd)}
jobs=${CKPT_FRESH_JOBS:-2}

# The tests that read ../shared/fixtures/real: each must be reported Skipped in the clone.
needs_shared=(
    test_torch_hostile__scan_agrees_with_weights_only_load
    test_torch_legacy__real_files
    test_torch_legacy__truncation_sweep
    test_torch_legacy__detect_kinds
    interop_legacy_differential
    fixtures_real_listing
    fixtures_real_legacy_listing
    fixtures_real_torchscript_lite_listing
    test_jit_read__format1_mnist
    test_jit_read__six_field_storage_ids
    jit_read_real
)

if ! head=$(git -C "$repo" rev-parse --verify -q HEAD); then
    echo "SKIPPED: fresh_clean_clone: $repo is not a git checkout (nothing to clone)"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-fresh.XXXXXX")
if [ "${CKPT_FRESH_KEEP:-0}" = 1 ]; then
    echo "keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi
clone="$tmp/ckpt"
dirty=$(git -C "$repo" status --porcelain --untracked-files=no | wc -l)
echo "clean clone of $head into $clone ($dirty uncommitted changes of $repo are not in it)"
git clone -q --no-checkout "$repo" "$clone"
git -C "$clone" checkout -q --detach "$head"
if [ -e "$tmp/shared" ]; then
    echo "FAIL: $tmp/shared exists; the clone must have no ../shared"
    exit 1
fi

t0=$(date +%s)
cmake -S "$clone" -B "$clone/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/configure.log" 2>&1 ||
    { tail -n 40 "$tmp/configure.log"; echo "FAIL: configure"; exit 1; }
cmake --build "$clone/build" -j "$jobs" >"$tmp/build.log" 2>&1 ||
    { grep -E 'error|Error' "$tmp/build.log" | head -n 40; echo "FAIL: build"; exit 1; }
t1=$(date +%s)
echo "configure + build: $((t1 - t0)) s"

set +e
(cd "$clone/build" && ctest -j "$jobs" --output-on-failure -LE 'slow|valgrind|fresh') \
    >"$tmp/ctest.log" 2>&1
rc=$?
set -e
t2=$(date +%s)
sed -n '/tests passed/,$p' "$tmp/ctest.log"
echo "ctest: $((t2 - t1)) s, exit $rc"
status=0
if [ $rc -ne 0 ]; then
    grep -E '\*\*\*|Failed|Timeout|SEGFAULT|Exception' "$tmp/ctest.log" | head -n 40 || true
    echo "FAIL: ctest in the clean clone failed"
    status=1
fi

# what CTest called skipped, and the reasons the tests gave
log="$clone/build/Testing/Temporary/LastTest.log"
mapfile -t skipped < <(sed -n 's/^.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*$/\1/p' "$tmp/ctest.log")
echo "skipped in the clone (${#skipped[@]}):"
for t in "${skipped[@]}"; do
    reason=$(grep -m1 "^SKIPPED: $t: " "$log" || true)
    if [ -z "$reason" ]; then
        echo "FAIL: $t was skipped without a 'SKIPPED: $t: <reason>' line"
        status=1
    else
        echo "  $reason"
    fi
done
for t in "${needs_shared[@]}"; do
    if ! grep -q "Test *#[0-9]*: $t .*\*\*\*Skipped" "$tmp/ctest.log"; then
        line=$(grep -m1 "Test *#[0-9]*: $t " "$tmp/ctest.log" || echo "$t: not run at all")
        echo "FAIL: $t reads ../shared/fixtures/real but was not reported Skipped: $line"
        status=1
    fi
done
[ $status -eq 0 ] && echo "fresh_clean_clone: the clean clone builds and passes ctest"
exit $status
