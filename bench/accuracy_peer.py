#!/usr/bin/python3
"""bench_accuracy's peer: the search's accuracy evaluation in plain PyTorch.

For each subnet (a tinynas arch JSON and its weights, as bench_accuracy
writes them), the procedure as a PyTorch user writes it (OFA/MCUNet's
"BN recalibration, then validation top-1"):

  every BatchNorm2d: reset_running_stats(), momentum = None (cumulative
  average); model.train(); under torch.no_grad() forward the BN batches;
  model.eval(); forward the validation images in batches, count top-1.

The network is train_peer.py's Net (plain torch.nn layers built from the
arch JSON); its parameters are loaded, in order, from the raw float32 file of
the supernet's extracted subnet, so both engines compute the same function
and their top-1 can be compared. The modules are built when the peer starts
(untimed: a search would take them from its supernet), and the images arrive
pre-decoded (bench_accuracy decodes them the way evaluator/accuracy.cpp does
and writes them as raw tensors), so a timed call is the procedure above and
nothing else.

Manifest (JSON): {"resolution", "channels", "bn_batches", "bn_batch_size",
"val_images", "batch_size", "images" (float32 NCHW, the BN images then the
validation images), "labels" (int64, the validation labels), "subnets":
[{"arch", "weights", "shapes"}]}.

Memory formats (--formats): nchw (PyTorch's default: the peer) and
channels_last (model and images converted once, for information).

Without --serve, evaluates every subnet once per format and prints one JSON
object. With --serve (how bench_accuracy runs it, so that the calls interleave
with its own): one line {"ready": true, "torch", "threads", "mkldnn",
"params": [per subnet], "load_s"}, then for each line "run I [FORMAT]" on
stdin one line {"top1", "correct", "seconds", "cpu_s"}; "quit" or end of
input ends it.

Usage: accuracy_peer.py --manifest M.json [--threads 2] [--formats nchw]
       [--serve]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_peer import Net  # noqa: E402  (the same module builder as bench_train's peer)


def load_weights(net, path, shapes):
    params = list(net.parameters())
    if len(params) != len(shapes):
        raise SystemExit("%s: %d tensors, the peer's network has %d" % (path, len(shapes), len(params)))
    total = sum(p.numel() for p in params)
    flat = torch.from_file(path, shared=False, size=total, dtype=torch.float32)
    if os.path.getsize(path) != 4 * total:
        raise SystemExit("%s: %d bytes, the network has %d float32 parameters"
                         % (path, os.path.getsize(path), total))
    offset = 0
    with torch.no_grad():
        for i, (p, shape) in enumerate(zip(params, shapes)):
            if list(p.shape) != list(shape):
                raise SystemExit("%s: tensor %d has shape %s, the peer's is %s"
                                 % (path, i, shape, list(p.shape)))
            p.copy_(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()


def evaluate(model, bn_batches, val_batches, val_labels):
    """Top-1 after BN recalibration: the procedure being timed."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative moving average over the BN batches
    correct = 0
    with torch.no_grad():
        model.train()
        for x in bn_batches:
            model(x)
        model.eval()
        for x, y in zip(val_batches, val_labels):
            correct += (model(x).argmax(1) == y).sum().item()
    return correct


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--manifest", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--formats", default="nchw", help="comma-separated: nchw, channels_last")
    p.add_argument("--serve", action="store_true",
                   help="time 'run I [FORMAT]' requests read from stdin")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    with open(args.manifest) as f:
        m = json.load(f)
    r, c = m["resolution"], m["channels"]
    nb, bs, nv, vb = m["bn_batches"], m["bn_batch_size"], m["val_images"], m["batch_size"]
    images = torch.from_file(m["images"], shared=False, size=(nb * bs + nv) * c * r * r,
                             dtype=torch.float32).view(nb * bs + nv, c, r, r)
    labels = torch.from_file(m["labels"], shared=False, size=nv, dtype=torch.int64)
    val_labels = list(labels.split(vb))

    formats = [f for f in args.formats.split(",") if f]
    data, models = {}, {}
    params = []
    for fmt in formats:
        if fmt not in ("nchw", "channels_last"):
            raise SystemExit("unknown format %r (nchw, channels_last)" % fmt)
        x = images
        if fmt == "channels_last":
            x = images.contiguous(memory_format=torch.channels_last)
        data[fmt] = (list(x[:nb * bs].split(bs)), list(x[nb * bs:].split(vb)))
        models[fmt] = []
        params = []
        for s in m["subnets"]:
            with open(s["arch"]) as f:
                arch = json.load(f)
            net = Net(arch)
            load_weights(net, s["weights"], s["shapes"])
            params.append(sum(t.numel() for t in net.parameters()))
            if fmt == "channels_last":
                net = net.to(memory_format=torch.channels_last)
            models[fmt].append(net)

    def call(i, fmt):
        bn, val = data[fmt]
        t, cpu = time.perf_counter(), time.process_time()
        correct = evaluate(models[fmt][i], bn, val, val_labels)
        return {"top1": correct / nv, "correct": correct, "seconds": time.perf_counter() - t,
                "cpu_s": time.process_time() - cpu}

    info = {
        "engine": "pytorch-python",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        "params": params,
        "load_s": time.perf_counter() - t0,
    }
    if args.serve:
        print(json.dumps(dict(info, ready=True, formats=formats)), flush=True)
        while True:
            words = sys.stdin.readline().split()
            if not words or words[0] == "quit":
                break
            fmt = words[2] if len(words) > 2 else formats[0]
            i = int(words[1])
            if fmt not in models or not 0 <= i < len(m["subnets"]):
                print("no subnet %d in format %s" % (i, fmt), flush=True)
                return 2
            print(json.dumps(call(i, fmt)), flush=True)
        return 0
    info["calls"] = {fmt: [call(i, fmt) for i in range(len(m["subnets"]))] for fmt in formats}
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
