#!/usr/bin/env bash
# scripts/deps.sh TIER... - make sure the Debian packages a tier needs are installed.
# Installs them when run as root; otherwise prints the exact command and fails.
set -euo pipefail

# build: compile the library, the CLI, the examples and the tests
pkgs_build="cmake make gcc pkg-config libdeflate-dev libcjson-dev libopenblas-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev"
# demo (examples/demo.sh): the 8x8 digits (python3-sklearn's digits.csv.gz), and
# /usr/bin/python3 with torch and numpy for the final check of the trained checkpoint
pkgs_demo="python3 python3-torch python3-numpy python3-sklearn"
# test (make test): every tier - torch interop, the digits, clang for ASan/UBSan and
# libFuzzer, valgrind, g++ for the C++ header checks, git for the clean-clone tier
# (tests/fresh), clang-format for format-check, libgfortran-12-dev for the
# `pkg-config --static` link of tests/install (Debian's openblas.pc asks for -lgfortran)
pkgs_test="$pkgs_demo python3-onnx libonnx-testdata clang libclang-rt-14-dev valgrind g++ git clang-format libgfortran-12-dev"
# Open MPI: libckpt_mpi and ckpt-mpi are built only where CMake finds it (the library builds
# without it); the test and bench tiers install it for tests/mpi and bench/dcp_bench.sh
pkgs_mpi="libopenmpi-dev openmpi-bin"
pkgs_test="$pkgs_test $pkgs_mpi"
pkgs_bench="python3 python3-torch python3-numpy $pkgs_mpi"

want=""
for tier in "$@"; do
    case "$tier" in
        build) want="$want $pkgs_build" ;;
        demo) want="$want $pkgs_build $pkgs_demo" ;;
        test) want="$want $pkgs_build $pkgs_test" ;;
        bench) want="$want $pkgs_build $pkgs_bench" ;;
        *) echo "deps.sh: unknown tier $tier" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
    fi
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
    echo "deps.sh: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "deps.sh: missing Debian packages:$missing" >&2
    echo "deps.sh: install them with:  sudo apt-get update && sudo $cmd" >&2
    exit 1
fi
