#!/usr/bin/env bash
# tests/install/install_test.sh BUILD SRC - the installed package, used from outside
# (CTest install_consumer).  `cmake --install BUILD` into a temporary prefix, then the
# programs that use only the public headers - examples/multi_model.c,
# examples/data_parallel.c and the C snippet of README.md - are built against that
# prefix four ways and run (the snippet opens a model.pth torch writes):
#   1. CMake find_package(ckpt): ckpt::ckpt (shared) and ckpt::ckpt_static
#   2. pkg-config --cflags --libs ckpt (shared)
#   3. pkg-config --static --libs ckpt with libckpt.a: every library the static link
#      needs must come from ckpt.pc (no libckpt.so in the result)
#   4. examples/train_demo.c with examples/digits.c (the `make demo` training program):
#      pkg-config --cflags --libs ckpt libdeflate, shared; run for 2 epochs with a
#      crash after the first and a resume when the digits (python3-sklearn) exist;
#      examples/train_amp.c (the explicit kernel tier, ckpt/kernels.h) likewise, run by
#      tests/interop/train_amp_scaler.c against the installed libckpt.so
# No compile line may name the source tree (so no src/ or include/ from it).
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
work="$tmp/work"
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "cmake --install"; }
cfg=$(find "$prefix" -path '*/cmake/ckpt/ckptConfig.cmake' | head -n 1)
pc=$(find "$prefix" -path '*/pkgconfig/ckpt.pc' | head -n 1)
[ -n "$cfg" ] || fail "no lib/cmake/ckpt/ckptConfig.cmake under the prefix"
[ -n "$pc" ] || fail "no lib/pkgconfig/ckpt.pc under the prefix"
for f in ckptConfigVersion.cmake ckptTargets.cmake; do
    [ -f "$(dirname "$cfg")/$f" ] || fail "no $f beside ckptConfig.cmake"
done
libdir=$(dirname "$(dirname "$pc")")
[ -f "$libdir/libckpt.a" ] && [ -e "$libdir/libckpt.so" ] || fail "libckpt.a / libckpt.so not in $libdir"
[ -f "$prefix/include/ckpt/ckpt.h" ] || fail "include/ckpt/ckpt.h not installed"
# the explicit kernel tier (ckpt/kernels.h) is exported: every function it declares
# is a dynamic symbol of libckpt.so (T, or i: an IFUNC picking a CPU-specific clone)
kfuncs=$(tr '\n' ' ' <"$prefix/include/ckpt/kernels.h" | grep -o 'CKPT_API [^(]*(' | grep -o '[a-z0-9_]*($' | tr -d '(')
[ "$(echo "$kfuncs" | wc -w)" -ge 40 ] || fail "ckpt/kernels.h: too few CKPT_API functions found"
dsyms=$(nm -D --defined-only "$libdir/libckpt.so")
for f in $kfuncs; do
    grep -q " [Ti] $f\$" <<<"$dsyms" || fail "libckpt.so does not export $f (ckpt/kernels.h)"
done
echo "exported: the $(echo "$kfuncs" | wc -w) kernels of ckpt/kernels.h"
echo "installed: ${cfg#"$prefix"/}, ${pc#"$prefix"/}, $(cd "$libdir" && ls libckpt.* | tr "\n" " ")"

# the programs, copied out of the tree
mkdir -p "$work"
cp "$src/tests/install/CMakeLists.txt" "$src/examples/multi_model.c" \
   "$src/examples/data_parallel.c" "$work/"
mkdir -p "$work/demo"
cp "$src/examples/train_demo.c" "$src/examples/digits.c" "$src/examples/digits.h" \
   "$src/examples/train_amp.c" "$src/examples/train_amp.h" \
   "$src/tests/interop/train_amp_scaler.c" "$work/demo/"
{
    echo "/* the C snippet of README.md, in a main() */"
    echo "#include <stdio.h>"
    awk '/^```c/{f=1;next} /^```/{if(f)exit} f && /^#include/' "$src/README.md"
    echo "int main(void)"
    echo "{"
    awk '/^```c/{f=1;next} /^```/{if(f)exit} f && !/^#include/' "$src/README.md"
    echo "    (void)data;"
    echo "    return 0;"
    echo "}"
} >"$work/readme.c"
grep -q ckpt_load "$work/readme.c" || fail "no C snippet found in README.md"

# what the README program opens: {"model": {"fc1.weight": ...}}, written by torch
pyok=0
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 -c 'import torch, collections
torch.save({"model": collections.OrderedDict([("fc1.weight", torch.arange(6.).reshape(2, 3)),
                                              ("fc1.bias", torch.zeros(2))])}, "'"$work"'/model.pth")'
    pyok=1
fi

check_includes() { # no compile line may point into the source tree
    if grep -F -- "$src" "$1" >/dev/null; then
        grep -F -- "$src" "$1" | head -n 3
        fail "$2: a compile line names the source tree $src"
    fi
}
run_all() { # run_all LABEL DIR shared|static: run the programs built one way
    local label=$1 dir=$2
    (cd "$tmp" && rm -f multi.pt && "$dir/multi_model_$3" "$tmp/multi.pt" >"$tmp/run.log" 2>&1) ||
        { cat "$tmp/run.log"; fail "$label: multi_model"; }
    (cd "$tmp" && rm -f dp.pt && "$dir/data_parallel_$3" --demo "$tmp/dp.pt" >"$tmp/run.log" 2>&1) ||
        { cat "$tmp/run.log"; fail "$label: data_parallel"; }
    if [ $pyok = 1 ]; then
        (cd "$work" && rm -f copy.pth && "$dir/readme_$3" >"$tmp/run.log" 2>&1) ||
            { cat "$tmp/run.log"; fail "$label: the README snippet"; }
        "$prefix/bin/ckpt" ls "$work/copy.pth" | grep -q '^model.fc1.weight ' ||
            fail "$label: the README snippet's copy.pth lacks model.fc1.weight"
    fi
    echo "ok: $label"
}

# 1. CMake
cmake -S "$work" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
      -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$tmp/cfg.log" 2>&1 || { cat "$tmp/cfg.log"; fail "find_package(ckpt)"; }
cmake --build "$work/cmake" -j 2 -- VERBOSE=1 >"$tmp/build.log" 2>&1 ||
    { tail -n 30 "$tmp/build.log"; fail "cmake build against the prefix"; }
check_includes "$work/cmake/compile_commands.json" cmake
check_includes "$tmp/build.log" cmake
grep -q -- "-I$prefix/include\|-isystem $prefix/include" "$work/cmake/compile_commands.json" ||
    fail "cmake: the installed include folder is not on the compile line"
readelf -d "$work/cmake/multi_model_shared" | grep -q 'NEEDED.*libckpt\.so' ||
    fail "cmake: ckpt::ckpt did not link libckpt.so"
if readelf -d "$work/cmake/multi_model_static" | grep -q 'NEEDED.*libckpt\.so'; then
    fail "cmake: ckpt::ckpt_static linked libckpt.so"
fi
run_all "find_package(ckpt), ckpt::ckpt" "$work/cmake" shared
run_all "find_package(ckpt), ckpt::ckpt_static" "$work/cmake" static

# 2. and 3. pkg-config
export PKG_CONFIG_PATH="$(dirname "$pc")"
cflags=$(pkg-config --cflags ckpt)
libs=$(pkg-config --libs ckpt)
slibs=$(pkg-config --static --libs ckpt)
echo "pkg-config --cflags: $cflags"
echo "pkg-config --libs: $libs"
echo "pkg-config --static --libs: $slibs"
case " $cflags $libs $slibs " in *"$src"*) fail "pkg-config names the source tree" ;; esac
mkdir -p "$work/pc"
for p in multi_model data_parallel readme; do
    # shellcheck disable=SC2086
    "$cc" -std=c11 -Wall -Wextra -Werror $cflags "$work/$p.c" -o "$work/pc/${p}_shared" $libs \
        -Wl,-rpath,"$libdir" || fail "pkg-config: $p (shared)"
    # libckpt.a named explicitly; everything else it needs must come from ckpt.pc
    # shellcheck disable=SC2086
    "$cc" -std=c11 -Wall -Wextra -Werror $cflags "$work/$p.c" -o "$work/pc/${p}_static" \
        ${slibs/-lckpt/-l:libckpt.a} || fail "pkg-config --static: $p (libckpt.a)"
done
readelf -d "$work/pc/multi_model_shared" | grep -q 'NEEDED.*libckpt\.so' ||
    fail "pkg-config: did not link libckpt.so"
if readelf -d "$work/pc/multi_model_static" | grep -q 'NEEDED.*libckpt\.so'; then
    fail "pkg-config --static: linked libckpt.so"
fi
run_all "pkg-config --cflags --libs ckpt" "$work/pc" shared
run_all "pkg-config --static --libs ckpt, libckpt.a" "$work/pc" static

# 4. the training demo against the installed headers
dcflags=$(pkg-config --cflags ckpt libdeflate)
dlibs=$(pkg-config --libs ckpt libdeflate)
case " $dcflags $dlibs " in *"$src"*) fail "pkg-config names the source tree" ;; esac
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L $dcflags "$work/demo/train_demo.c" \
    "$work/demo/digits.c" -o "$work/demo/train_demo" $dlibs -lm -Wl,-rpath,"$libdir" ||
    fail "pkg-config: examples/train_demo.c + digits.c"
# the explicit kernel tier from the shared library: examples/train_amp.c under the
# unit test of its GradScaler path (tests/interop/train_amp_scaler.c)
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L $dcflags "$work/demo/train_amp.c" \
    "$work/demo/train_amp_scaler.c" "$work/demo/digits.c" -o "$work/demo/train_amp_scaler" \
    $dlibs -lm -Wl,-rpath,"$libdir" || fail "pkg-config: examples/train_amp.c (ckpt/kernels.h)"
readelf -d "$work/demo/train_amp_scaler" | grep -q 'NEEDED.*libckpt\.so' ||
    fail "train_amp_scaler did not link libckpt.so"
digits=${CKPT_DIGITS:-/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz}
if [ -f "$digits" ]; then
    (cd "$work/demo" && mkdir -p run &&
        ./train_demo --data "$digits" --epochs 2 --stop-after 1 run &&
        ./train_demo --data "$digits" --epochs 2 --resume run) >"$tmp/run.log" 2>&1 ||
        { cat "$tmp/run.log"; fail "train_demo (installed): crash and resume"; }
    grep -q '^resumed from .*epoch 1 done' "$tmp/run.log" ||
        { cat "$tmp/run.log"; fail "train_demo (installed): did not resume after epoch 1"; }
    [ -f "$work/demo/run/final.pt" ] || fail "train_demo (installed): no final.pt"
    "$prefix/bin/ckpt" ls "$work/demo/run/final.pt" | grep -q '^optimizer\.state\.0\.momentum_buffer ' ||
        fail "train_demo (installed): final.pt lacks the optimizer's momentum buffers"
    echo "ok: examples/train_demo.c built with pkg-config, crashed after epoch 1, resumed"
    "$work/demo/train_amp_scaler" "$digits" >"$tmp/run.log" 2>&1 ||
        { cat "$tmp/run.log"; fail "train_amp_scaler (installed libckpt.so)"; }
    echo "ok: examples/train_amp.c on the kernel tier of the installed libckpt.so"
else
    echo "ok: examples/train_demo.c built with pkg-config ($digits missing: not run)"
fi
[ $pyok = 1 ] || { echo "SKIPPED: install_consumer: /usr/bin/python3 has no torch: the README snippet was built, not run"; exit 77; }
echo "install_consumer: the installed package builds and runs both ways"
