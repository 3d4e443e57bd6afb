#!/usr/bin/env bash
# Builds and runs every benchmark; prints their tables. Usage:
#   bench/run_all.sh [build-dir]        (default: build, beside this folder)
# A benchmark that misses its target exits non-zero; the others still run and
# the script exits non-zero at the end.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTINYNAS_BUILD_BENCH=ON || exit 1
fi
# bench_kernels and bench_deploy need arm-none-eabi-gcc and qemu-system-arm.
# bench_dataloader and bench_train read ../shared/data/cifar10/train.tar (or
# $TINYNAS_DATA_DIR/cifar10/train.tar) and skip what needs it when it is
# missing; bench_train's peer needs /usr/bin/python3 with torch (without it,
# bench_train prints its own figures and checks nothing). bench_accuracy reads
# the same train.tar (skips when it is missing) and runs bench/accuracy_peer.py
# the same way; it writes ~180 MB of decoded images for its peer under $TMPDIR.
benches=(bench_cost_model bench_space bench_zoo bench_search bench_kernels bench_deploy bench_dataloader bench_train bench_accuracy)
ninja -C "$build" "${benches[@]}" || exit 1

status=0
for bench in "${benches[@]}"; do
  echo "=== $bench ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores)"
  "$build/bench/$bench" || { echo "=== $bench exited $?"; status=1; }
  echo
done
exit $status
