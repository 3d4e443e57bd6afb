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
benches=(bench_cost_model bench_space bench_zoo bench_kernels bench_deploy)
ninja -C "$build" "${benches[@]}" || exit 1

status=0
for bench in "${benches[@]}"; do
  echo "=== $bench ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores)"
  "$build/bench/$bench" || { echo "=== $bench exited $?"; status=1; }
  echo
done
exit $status
