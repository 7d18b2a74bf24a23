#!/usr/bin/env python3
"""The cost model of a data-parallel step, fitted to this machine's benchmarks (jobs/bench/README.md, "Distributed speed").

    cost_model.py [--bench-dir target/bench] [--compute 0.1] [--params 25557032] [--streams 1,4]

    step = compute + exchange(S, N, B, L) - overlap
    exchange = 2(N-1) L + 2(N-1)/N * S / min(B * eta, k * C)

S: bytes of gradients (4 per parameter in fp32, 2 in bf16); N: ranks; B: the link's rate; L: the time
a ring step costs beyond its bytes; eta: the fraction of the link our ring reached on shaped links; C:
what one TCP stream per neighbour carries on a host (the raw TCP ring on loopback here). L, eta and C
are fitted from jobs/bin/bench-allreduce's kept lines (allreduce-*.jsonl): the bandwidth per peer and
link by least squares of time = a + b * 2(N-1)/N * 4 * floats over the sizes from 1 M floats up; L
from its smallest call (1000 floats), what is left of its time after the bytes, over 2(N-1) steps.
k: connections per neighbour (spark.emaspark.ring.streams; NCCL and Gloo open several sockets per peer
too, so DDP gets the same k).

Overlap: ours hides the SGD step and the gradients' copy out of the engine behind the exchange
(spark.emaspark.ring.buckets), not backward: DJL runs backward as one call, with no per-parameter
hook. DDP all-reduces 25 MB buckets as backward produces them, so it hides the exchange behind
backward (taken as 2/3 of compute) except the last bucket's share.
"""

import argparse
import glob
import json
import os

RATES = {"1gbit": 1e9 / 8, "10gbit": 10e9 / 8, "100gbit": 100e9 / 8}


def fit(rows):
    """(L, b): time = 2(N-1) L + b * bytes per link; None without two distinct sizes of 1 M floats or more."""
    small = min(rows, key=lambda r: r["floats"])
    rows = [r for r in rows if r["floats"] >= 1_000_000]
    xs = [2 * (r["world"] - 1) / r["world"] * 4 * r["floats"] for r in rows]
    ys = [r["median_s"] for r in rows]
    if len(set(xs)) < 2:
        return None
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    world = small["world"]
    latency = max(0.0, small["median_s"] - b * 2 * (world - 1) / world * 4 * small["floats"]) / (2 * (world - 1))
    return latency, b


def load(bench_dir):
    fits = {}
    for path in sorted(glob.glob(os.path.join(bench_dir, "allreduce-*.jsonl"))):
        where = os.path.basename(path)[len("allreduce-"):-len(".jsonl")]
        rows = [json.loads(line) for line in open(path) if line.strip()]
        best = {}
        for r in rows:
            key = (r["peer"], r["world"], r["floats"])
            if key not in best or r["median_s"] < best[key]["median_s"]:
                best[key] = r
        for peer in {k[0] for k in best}:
            for world in {k[1] for k in best if k[0] == peer}:
                f = fit([r for k, r in best.items() if k[0] == peer and k[1] == world])
                if f:
                    fits[(where, peer, world)] = f
    return fits


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench-dir", default=os.path.join(os.path.dirname(__file__), "../../target/bench"))
    p.add_argument("--compute", type=float, default=0.1, help="forward+backward of one step on one GPU, s")
    p.add_argument("--params", type=int, default=25_557_032, help="ResNet-50's")
    p.add_argument("--streams", default="1,4", help="connections per neighbour to predict for, e.g. 1,4")
    a = p.parse_args()
    fits = load(a.bench_dir)
    if not fits:
        raise SystemExit("emaspark: error: no allreduce-*.jsonl in " + a.bench_dir + ": run jobs/bin/bench-allreduce first")
    print("fitted from", a.bench_dir)
    for (where, peer, world), (lat, b) in sorted(fits.items()):
        print(f"  {where:<16} {peer:<22} world {world}: L {lat * 1e3:7.3f} ms per ring step, {1 / b / 1e9:6.2f} GB/s per link")
    plain = [(w, f) for (where, peer, w), f in fits.items() if peer == "emaspark-plain"]
    shaped = [(where, w, f) for (where, peer, w), f in fits.items() if peer == "emaspark-plain" and where.startswith("platform-")]
    latency = max(f[0] for w, f in plain)
    eta = 0.95
    if shaped:
        eta = min(1.0, max((1 / f[1]) / RATES[where[len("platform-"):]] for where, w, f in shaped if where[len("platform-"):] in RATES))
    loop = [f for (where, peer, w), f in fits.items() if where == "loopback" and peer == "raw-tcp"]
    cap = max(1 / f[1] for f in loop) if loop else float("inf")
    print(f"model: L = {latency * 1e3:.3f} ms, eta = {eta:.2f} of the link, one stream per neighbour carries at most "
          f"{cap / 1e9:.2f} GB/s (raw TCP ring on this machine's loopback)")
    print(f"prediction for {a.params:,} parameters, compute {a.compute} s per step (assumed: ResNet-50, batch 32 per GPU):")
    print(f"{'GPUs':>5} {'link':>8} {'streams':>7} {'wire':>5} {'exchange':>9} {'ours step':>10} {'ours eff':>9} "
          f"{'DDP step':>9} {'DDP eff':>8}")
    for n, rate, k, wire, bytes_per in [(n, rate, k, wire, bytes_per) for n in (8, 64) for rate in ("10gbit", "100gbit")
                                        for k in [int(x) for x in a.streams.split(",")]
                                        for wire, bytes_per in (("fp32", 4), ("bf16", 2))]:
                size = a.params * bytes_per
                bandwidth = min(RATES[rate] * eta, k * cap)
                exchange = 2 * (n - 1) * latency + 2 * (n - 1) / n * size / bandwidth
                ours_hidden = min(exchange, 0.005)  # SGD and copy-out on a GPU: a few ms
                ours = a.compute + exchange - ours_hidden
                last_bucket = exchange * min(1.0, 25e6 / size)
                ddp = a.compute + max(last_bucket, exchange - 2 / 3 * a.compute)
                print(f"{n:>5} {rate:>8} {k:>7} {wire:>5} {exchange:8.3f}s {ours:9.3f}s {a.compute / ours:8.0%} {ddp:8.3f}s "
                      f"{a.compute / ddp:7.0%}")


if __name__ == "__main__":
    main()
