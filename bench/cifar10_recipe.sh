#!/usr/bin/env bash
# The CIFAR-10 supernet recipe: trains the supernet on the real CIFAR-10 in
# ../shared/data (configs/experiments/train-cifar10.yaml: the mcunet-cifar
# space at width 0.5, the width the space optimiser chooses for the F412's
# 1 MB / 256 KB, resolutions 32 and 48), then reports the CIFAR-10 test-set
# top-1 of the largest, the median (by MACs, of 101 seeded samples) and the
# smallest subnet, each after BN recalibration on training images.
#
#   bench/cifar10_recipe.sh [OUT_DIR] [extra tinynas train flags...]
#
# OUT_DIR defaults to out/cifar10-recipe. A run that was killed resumes from
# its checkpoint when started again with the same OUT_DIR. Budget: about 60
# minutes on 2 CPU cores; the wall time is printed at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/../shared/data/cifar10"
out="${1:-$root/out/cifar10-recipe}"
shift || true
tinynas="$root/build/tinynas"

if [[ ! -f "$data/train.tar" || ! -f "$data/test.tar" ]]; then
  echo "cifar10_recipe: $data/train.tar and test.tar are needed (see ../shared/data/README.md); skipped" >&2
  exit 0
fi
[[ -x "$tinynas" ]] || { ninja -C "$root/build" tinynas; }

start=$(date +%s)
cd "$root"
if [[ -f "$out/checkpoint.pt" && ! -f "$out/summary.json" ]]; then
  "$tinynas" train --out "$out" --resume "$@"
elif [[ ! -f "$out/summary.json" ]]; then
  "$tinynas" train --config configs/experiments/train-cifar10.yaml --dataset "tar:$data/train.tar" --out "$out" "$@"
fi
trained=$(date +%s)

echo
echo "CIFAR-10 test set (10,000 images), top-1 after BN recalibration on 8 x 128 training images:"
printf '%-9s %5s %9s %8s\n' subnet res "MACs" "top-1"
for which in largest:48 median:48 median:32 smallest:32; do
  arch="${which%%:*}"; res="${which##*:}"
  json=$("$tinynas" eval --arch "$arch" --resolution "$res" --checkpoint "$out/checkpoint.pt" \
           --dataset "tar:$data/test.tar" --json -q)
  echo "$json" > "$out/test_${arch}_r${res}.json"
  /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%-9s %5d %8.2fM %7.2f%%" % (sys.argv[1], d["resolution"], d["macs"]/1e6, 100*d["top1"]))' "$arch" <<<"$json"
done
end=$(date +%s)
echo
echo "wall time: training $(( (trained - start) / 60 )) min $(( (trained - start) % 60 )) s (this invocation), evaluation $(( end - trained )) s"
