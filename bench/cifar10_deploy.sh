#!/usr/bin/env bash
# Trained CIFAR-10 subnets on the emulated boards: int8 top-1 on the board
# against the float network (the peer: the same subnet, the same images,
# before quantisation), with the flash, SRAM and instructions the firmware
# measures. Needs the checkpoint bench/cifar10_recipe.sh trains.
#
#   bench/cifar10_deploy.sh [CHECKPOINT] [OUT_DIR] [EVAL_COUNT]
#
# CHECKPOINT defaults to out/cifar10-recipe/checkpoint.pt, OUT_DIR to
# out/cifar10-deploy, EVAL_COUNT (a seeded draw of the 10,000 test images,
# at most 1000) to 1000. Each row is one `tinynas deploy --checkpoint ...
# --run qemu --eval-dataset tar:test.tar`: BN recalibration on training
# images, int8 calibration on 64 training images, firmware on QEMU, every
# board output compared with the host's int8 reference. The largest subnet
# (1.17 MB of flash) does not fit the F412's 1 MB; it runs on the H743
# (2 MB, Cortex-M7).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/../shared/data/cifar10"
checkpoint="${1:-$root/out/cifar10-recipe/checkpoint.pt}"
out="${2:-$root/out/cifar10-deploy}"
count="${3:-1000}"
tinynas="$root/build/tinynas"

if [[ ! -f "$data/test.tar" ]]; then
  echo "cifar10_deploy: $data/test.tar is needed (see ../shared/data/README.md); skipped" >&2
  exit 0
fi
if [[ ! -f "$checkpoint" ]]; then
  echo "cifar10_deploy: no checkpoint at $checkpoint: run bench/cifar10_recipe.sh first" >&2
  exit 1
fi
[[ -x "$tinynas" ]] || { ninja -C "$root/build" tinynas; }
mkdir -p "$out"

echo "CIFAR-10 test images: $count (seeded draw); int8 calibrated on 64 training images; checkpoint $checkpoint"
printf '%-9s %4s %-5s %8s %9s %9s %10s %8s %8s %8s %9s\n' subnet res mcu MACs "flash kB" "SRAM kB" \
  "instr" "float" "int8 host" "int8 MCU" "bit-exact"
for row in smallest:32:f412 median:32:f412 median:48:f412 largest:48:h743; do
  IFS=: read -r arch res mcu <<<"$row"
  dir="$out/${arch}_r${res}_${mcu}"
  "$tinynas" -q deploy --arch "$arch" --resolution "$res" --checkpoint "$checkpoint" --mcu "$mcu" \
    --out "$dir" --run qemu --eval-dataset "tar:$data/test.tar" --eval-count "$count" --timeout 1800 > /dev/null
  /usr/bin/python3 - "$arch" "$res" "$mcu" "$dir/report.json" <<'EOF'
import json, sys
arch, res, mcu, path = sys.argv[1:]
r = json.load(open(path))
print("%-9s %4s %-5s %7.2fM %9.1f %9.1f %9.2fM %7.2f%% %8.2f%% %7.2f%% %9s" % (
    arch, res, mcu, r["macs"] / 1e6, r["flash_bytes"] / 1000, r["sram_bytes"] / 1000,
    r["instructions"] / 1e6, 100 * r["float_top1"], 100 * r["int8_top1_host"], 100 * r["int8_top1"],
    "yes" if r["bit_exact"] else "NO"))
EOF
done
echo "reports: $out/*/report.json"
