#!/usr/bin/env bash
# Issue 9's CIFAR-10 table: at the STM32F412 budget (1 MB flash, 256 KB SRAM),
# the subnet that `tinynas search` finds against (a) random search with the
# same number of accuracy evaluations on the same supernet and (b) the largest
# width/resolution-scaled MobileNetV2 that fits the budget, trained with the
# same recipe, data and epochs. Every model is fine-tuned for the same epoch,
# quantised to int8 and run on the emulated board (QEMU) over the same seeded
# draw of CIFAR-10 test images; the board's outputs are checked bit-exact
# against the host.
#
#   bench/cifar10_search.sh [OUT_PREFIX]
#
# OUT_PREFIX defaults to out/cifar10-f412 (three folders: OUT_PREFIX,
# OUT_PREFIX-random, OUT_PREFIX-mbv2). Every step is a resumable
# `tinynas search`: run the script again after a kill and it goes on where it
# stopped. The configs say what is scaled down from MCUNet for 2 CPU cores:
# configs/experiments/cifar10-f412.yaml and cifar10-f412-mbv2.yaml.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/../shared/data/cifar10"
prefix="${1:-out/cifar10-f412}"
tinynas="$root/build/tinynas"

if [[ ! -f "$data/train.tar" || ! -f "$data/test.tar" ]]; then
  echo "cifar10_search: $data/train.tar and test.tar are needed (see ../shared/data/README.md); skipped" >&2
  exit 0
fi
[[ -x "$tinynas" ]] || { ninja -C "$root/build" tinynas; }
cd "$root"

start=$(date +%s)
step() {  # name, then the search's arguments
  local name="$1"; shift
  local t0; t0=$(date +%s)
  echo "== $name: tinynas search $*" >&2
  "$tinynas" search "$@" >&2
  echo "== $name: $(( ($(date +%s) - t0) / 60 )) min" >&2
}

step searched --config configs/experiments/cifar10-f412.yaml --out "$prefix"
evaluations=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["evaluations"])' \
  "$prefix/summary.json")
step random --config configs/experiments/cifar10-f412.yaml --strategy random \
  --supernet "$prefix/supernet/checkpoint.pt" --evaluations "$evaluations" --out "$prefix-random"
step mobilenetv2 --config configs/experiments/cifar10-f412-mbv2.yaml --out "$prefix-mbv2"

/usr/bin/python3 - "$prefix" <<'EOF'
import json, sys
prefix = sys.argv[1]
rows = [("searched (evolution)", prefix), ("(a) random search", prefix + "-random"),
        ("(b) MobileNetV2", prefix + "-mbv2")]
s0 = json.load(open(prefix + "/summary.json"))
print("CIFAR-10, %s budget %.0f KiB flash / %.0f KiB SRAM; test: %s" % (
    s0["mcu"], s0["budget"]["flash_bytes"] / 1024, s0["budget"]["sram_bytes"] / 1024, s0["test_dataset"]))
head = ("model", "w", "res", "MMACs", "flash KiB", "SRAM KiB", "ms", "evals", "val", "val ft",
        "test fp32", "test int8", "bit-exact")
fmt = "%-21s %4s %4s %6s %9s %8s %7s %5s %6s %6s %9s %9s %9s"
print(fmt % head)
pct = lambda v: "-" if v is None else "%.2f%%" % (100 * v)
for name, d in rows:
    s = json.load(open(d + "/summary.json"))
    m, p = s["measured"], s["predicted"]
    print(fmt % (name, "%g" % s["width"], s["resolution"], "%.2f" % (p["macs"] / 1e6),
                 "%.1f" % (m["flash_bytes"] / 1024), "%.1f" % (m["sram_bytes"] / 1024),
                 "%.1f" % m["latency_ms"], s["evaluations"], pct(s["val_top1_search"]),
                 pct(s["val_top1_finetuned"]), pct(s["test_top1_float"]), pct(s["test_top1_int8_board"]),
                 "yes" if m["bit_exact"] else "NO"))
EOF
echo "wall time of this invocation: $(( ($(date +%s) - start) / 60 )) min"
