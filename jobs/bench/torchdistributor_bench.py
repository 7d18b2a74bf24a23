#!/usr/bin/env python3
"""TorchDistributor + DDP side of jobs/bin/bench-vs-torchdistributor.

    torchdistributor_bench.py --master spark://HOST:7077 --dataset /path/to/prepared [--processes 2]
        [--batch 32] [--epochs 3] [--im-size 32] [--depth 20] [--lr 0.2] [--ema-alpha 4e-3] [--ema-period 4]

What a Spark user would write today: pyspark's TorchDistributor (non-local mode: one barrier task per
process, torchrun on each executor) running PyTorch DDP over Gloo, one compute thread per process,
pycls's model (pycls 0.1.1 from PyPI; ResNet in its CIFAR layout for a depth of 6n+2, as our
quickstart), pycls's SGD recipe (momentum 0.9, Nesterov, weight decay 5e-4, cos lr) and pycls's EMA
update every --ema-period iterations, on the very Parquet shards our Prepare wrote: read with pyarrow,
decoded with OpenCV and pycls's train transforms (decode_bench.pycls_train_sample), inline, as a
DataLoader with num_workers=0 does. TRAIN.BATCH_SIZE (--batch) is the total over processes, as pycls
counts it. Rank 0 prints one JSON line per epoch: its training wall time and images/s; the first
epoch warms up.
"""

import argparse
import json
import sys


def epoch_order(rows, rank, world, epoch, seed, per_rank):
    """This rank's rows of the epoch: a seeded shuffle of all rows, an equal share per rank."""
    import numpy as np

    order = np.random.default_rng([seed, epoch]).permutation(len(rows))
    return [rows[i] for i in order[rank * per_rank : (rank + 1) * per_rank]]


def train(dataset, batch, epochs, im_size, depth, base_lr, ema_alpha, ema_period, seed):
    """Runs in every torchrun process TorchDistributor starts."""
    import math
    import os
    import time

    import numpy as np
    import pyarrow.parquet as pq
    import torch
    import torch.distributed as dist

    import decode_bench  # jobs/bench, on the executors' PYTHONPATH

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    from pycls.core.config import cfg
    import pycls.core.builders as builders

    manifest = json.load(open(os.path.join(dataset, "manifest.json")))
    classes = len(manifest["classes"])
    cfg.merge_from_list(["MODEL.TYPE", "resnet", "MODEL.DEPTH", str(depth), "MODEL.NUM_CLASSES", str(classes),
                         "TRAIN.DATASET", "cifar10", "TEST.DATASET", "cifar10", "TRAIN.IM_SIZE", str(im_size)])
    torch.manual_seed(seed)
    model = builders.build_model()
    model_ema = builders.build_model()
    model_ema.load_state_dict(model.state_dict())
    model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    rows = []
    for shard in manifest["splits"]["train"]["shards"]:
        table = pq.read_table(os.path.join(dataset, "train", os.path.basename(shard["name"])), columns=["image", "label"])
        rows.extend(zip(table.column("image").to_pylist(), table.column("label").to_pylist()))
    per_replica = batch // world
    iterations = len(rows) // world // per_replica
    np.random.seed(seed + rank)  # pycls's transforms draw from np.random
    for epoch in range(epochs):
        lr = 0.5 * base_lr * (1.0 + math.cos(math.pi * epoch / epochs))  # pycls's cos policy
        for group in optimizer.param_groups:
            group["lr"] = lr
        mine = epoch_order(rows, rank, world, epoch, seed, iterations * per_replica)
        model.train()
        dist.barrier()
        start = time.perf_counter()
        for it in range(iterations):
            part = mine[it * per_replica : (it + 1) * per_replica]
            x = torch.from_numpy(np.stack([decode_bench.pycls_train_sample(im, im_size) for im, _ in part]))
            y = torch.tensor([label for _, label in part])
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if it % ema_period == 0:  # pycls's update_model_ema
                alpha = min(1.0, ema_alpha * batch / epochs * ema_period)
                with torch.no_grad():
                    for p_ema, p in zip(model_ema.state_dict().values(), model.module.state_dict().values()):
                        if p_ema.dtype.is_floating_point:
                            p_ema.mul_(1 - alpha).add_(p, alpha=alpha)
                        else:
                            p_ema.copy_(p)
        dist.barrier()
        seconds = time.perf_counter() - start
        if rank == 0:
            print(json.dumps({"peer": "torchdistributor", "epoch": epoch + 1, "iterations": iterations, "seconds": round(seconds, 3),
                              "images_per_s": round(iterations * batch / seconds, 2), "processes": world,
                              "torch": torch.__version__, "loss": round(loss.item(), 4)}), flush=True)
    dist.barrier()  # every rank done before any leaves: torchrun's exit barrier then passes at once
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--master", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--im-size", type=int, default=32)
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.2)
    p.add_argument("--ema-alpha", type=float, default=4e-3)
    p.add_argument("--ema-period", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--conf", action="append", default=[], help="KEY=VALUE Spark settings")
    a = p.parse_args()
    from pyspark.ml.torch.distributor import TorchDistributor
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(a.master).appName("bench-vs-torchdistributor")
    for kv in a.conf:
        key, value = kv.split("=", 1)
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        TorchDistributor(num_processes=a.processes, local_mode=False, use_gpu=False).run(
            train, a.dataset, a.batch, a.epochs, a.im_size, a.depth, a.lr, a.ema_alpha, a.ema_period, a.seed)
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
