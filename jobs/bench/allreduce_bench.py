#!/usr/bin/env python3
"""torch.distributed Gloo side of the all-reduce benchmark (jobs/bin/bench-allreduce).

    allreduce_bench.py --rank R --world N --master HOST:PORT [--sizes 1000000,...] [--repeat 5] [--warmup 2]

One process per rank, one compute thread each (torch.set_num_threads(1)), as DDP's processes run on
CPU: all_reduce (sum, then divided by N in place: DDP's gradient mean) of float32 tensors of each size;
a tiny all_reduce before each timed call keeps the ranks in step. Rank 0 prints one JSON line per size
in the format of ai.emaspark.jobs.AllReduceBench, after three untimed calls of the largest size.
Set GLOO_SOCKET_IFNAME to pick the interface.
"""

import argparse
import json
import time

import torch
import torch.distributed as dist


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--world", type=int, required=True)
    p.add_argument("--master", required=True)
    p.add_argument("--sizes", default="1000000,5000000,25000000,50000000")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://{a.master}", rank=a.rank, world_size=a.world)
    step = torch.zeros(1)
    g = torch.Generator().manual_seed(a.rank)
    sizes = [int(s) for s in a.sizes.split(",")]
    largest = torch.randn(max(sizes), generator=g)
    for _ in range(3):  # as AllReduceBench: three untimed calls of the largest size first
        dist.all_reduce(largest)
    for size in sizes:
        buffer = torch.randn(size, generator=g)
        seconds = []
        for k in range(a.warmup + a.repeat):
            dist.all_reduce(step)
            start = time.perf_counter()
            dist.all_reduce(buffer)
            buffer.div_(a.world)
            if k >= a.warmup:
                seconds.append(time.perf_counter() - start)
        if a.rank == 0:
            print(json.dumps({"peer": "gloo", "world": a.world, "floats": size,
                              "median_s": round(sorted(seconds)[len(seconds) // 2], 5),
                              "runs": [round(s, 4) for s in seconds], "torch": torch.__version__}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
