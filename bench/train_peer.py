#!/usr/bin/python3
"""bench_train's peer: the same network trained in plain PyTorch (Python).

Builds the network of a tinynas arch JSON (tinynas-arch-v1, as bench_train
writes it) from ordinary torch.nn layers, the way OFA/MCUNet write it:

  first conv kxk stride s + BN + ReLU6(inplace=True),
  per block: [expand 1x1 + BN + ReLU6,] depthwise kxk + BN + ReLU6,
             project 1x1 + BN, identity shortcut when the arch says so,
  [feature mix 1x1 + BN + ReLU6,] global average pool, Linear.

Then times training steps on one synthetic batch (random floats and random
labels; data loading is measured separately): zero_grad, forward, cross
entropy with label smoothing, backward, SGD (momentum, weight decay) step,
loss.item().

Memory formats (--formats, comma-separated; one model and optimiser each):
  nchw           PyTorch's default (contiguous NCHW tensors): the peer;
  channels_last  model.to(memory_format=torch.channels_last) and a
                 channels-last input, Intel's advice for CPU training.

Without --serve, prints one JSON object on stdout:
  {"engine": "pytorch-python", "torch": ..., "threads": ..., "mkldnn": ...,
   "params": ..., "formats": {"nchw": {"images_per_s": [per rep], "best": ...,
   "median": ...}, ...}}
With --serve (how bench_train runs it, so that its reps interleave with
bench_train's own): after the warm-up one line with the fields above but
"ready": true instead of "formats", then for each line "run N [FORMAT]" on
stdin N timed steps (of the first format when none is named) and one line
{"images_per_s": ..., "cpu_s": ...}; "quit" or end of input ends it.

Usage: train_peer.py --arch ARCH.json [--batch 64] [--threads 2]
       [--warmup 3] [--steps 10] [--reps 3] [--lr 0.05] [--momentum 0.9]
       [--wd 4e-5] [--label-smoothing 0.1] [--seed 0]
       [--formats nchw[,channels_last]] [--serve]
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def act(name):
    if name == "relu6":
        return nn.ReLU6(inplace=True)
    if name == "relu":
        return nn.ReLU(inplace=True)
    raise ValueError("activation %r is not supported" % name)


def conv_bn(cin, cout, k, stride, groups, activation):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if activation is not None:
        layers.append(act(activation))
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    def __init__(self, cin, b, activation):
        super().__init__()
        mid = b["mid_channels"]
        self.expand = conv_bn(cin, mid, 1, 1, 1, activation) if b["expand"] != 1 else None
        self.dw = conv_bn(mid, mid, b["kernel"], b["stride"], mid, activation)
        self.proj = conv_bn(mid, b["out_channels"], 1, 1, 1, None)
        self.residual = bool(b["residual"])

    def forward(self, x):
        y = self.expand(x) if self.expand is not None else x
        y = self.proj(self.dw(y))
        return y + x if self.residual else y


class Net(nn.Module):
    def __init__(self, arch):
        super().__init__()
        a = arch.get("activation", "relu6")
        fc = arch["first_conv"]
        c = fc["out_channels"]
        self.first_conv = conv_bn(arch.get("in_channels", 3), c, fc.get("kernel", 3),
                                  fc.get("stride", 2), 1, a)
        blocks = []
        for stage in arch["stages"]:
            for b in stage["blocks"]:
                blocks.append(MBConv(c, b, a))
                c = b["out_channels"]
        self.blocks = nn.Sequential(*blocks)
        fm = arch.get("feature_mix_channels", 0)
        self.feature_mix = conv_bn(c, fm, 1, 1, 1, a) if fm > 0 else None
        if fm > 0:
            c = fm
        self.classifier = nn.Linear(c, arch["num_classes"])

    def forward(self, x):
        x = self.blocks(self.first_conv(x))
        if self.feature_mix is not None:
            x = self.feature_mix(x)
        return self.classifier(x.mean((2, 3)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", required=True)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--wd", type=float, default=4e-5)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--formats", default="nchw",
                   help="comma-separated: nchw, channels_last")
    p.add_argument("--serve", action="store_true",
                   help="after the warm-up, time 'run N [FORMAT]' requests read from stdin")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    with open(args.arch) as f:
        arch = json.load(f)
    r = arch["resolution"]
    torch.manual_seed(args.seed)
    images = torch.randn(args.batch, arch.get("in_channels", 3), r, r)
    labels = torch.randint(0, arch["num_classes"], (args.batch,))

    formats = [f for f in args.formats.split(",") if f]
    steps = {}
    params = 0
    for fmt in formats:
        if fmt not in ("nchw", "channels_last"):
            raise SystemExit("unknown format %r (nchw, channels_last)" % fmt)
        torch.manual_seed(args.seed)
        net = Net(arch)
        params = sum(t.numel() for t in net.parameters())
        x = images
        if fmt == "channels_last":
            net = net.to(memory_format=torch.channels_last)
            x = images.contiguous(memory_format=torch.channels_last)
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum,
                              weight_decay=args.wd)

        def step(net=net, opt=opt, x=x):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), labels, label_smoothing=args.label_smoothing)
            loss.backward()
            opt.step()
            return loss.item()

        for _ in range(args.warmup):
            step()
        steps[fmt] = step

    info = {
        "engine": "pytorch-python",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        "params": params,
    }

    def rep(fmt, n):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            steps[fmt]()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return args.batch * n / wall, cpu

    if args.serve:
        print(json.dumps(dict(info, ready=True, formats=formats)), flush=True)
        while True:
            words = sys.stdin.readline().split()
            if not words or words[0] == "quit":
                break
            fmt = words[2] if len(words) > 2 else formats[0]
            if fmt not in steps:
                print("format %s was not built (--formats)" % fmt, flush=True)
                return 2
            rate, cpu = rep(fmt, int(words[1]))
            print(json.dumps({"images_per_s": rate, "cpu_s": cpu}), flush=True)
        return 0
    rates = {f: [] for f in formats}
    for _ in range(args.reps):
        for fmt in formats:
            rates[fmt].append(rep(fmt, args.steps)[0])
    info["formats"] = {f: {"images_per_s": v, "best": max(v), "median": statistics.median(v)}
                       for f, v in rates.items()}
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
