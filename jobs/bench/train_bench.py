#!/usr/bin/env python3
"""PyTorch eager side of the training benchmark (jobs/bin/bench-train).

    train_bench.py [--batch 32] [--size 224] [--steps 5] [--warmup 2] [--threads N]

pycls's ResNet-50 (pycls 0.1.1 from PyPI: R-50-1x64d, stride on the 3x3), one full step as pycls's
trainer does it: forward, soft cross-entropy, zero_grad, backward, torch.optim.SGD step (momentum
0.9, Nesterov, weight decay 5e-5), on random images. Prints one JSON line: median step time.
"""

import argparse
import json
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--depth", type=int, default=50, help="50: ResNet-50; 6n+2: the CIFAR-layout ResNet, 10 classes")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    from pycls.core.config import cfg
    import pycls.core.builders as builders

    classes = 1000 if a.depth == 50 else 10
    if a.depth == 50:
        cfg.merge_from_list(["MODEL.TYPE", "resnet", "MODEL.DEPTH", "50", "MODEL.NUM_CLASSES", "1000",
                             "RESNET.TRANS_FUN", "bottleneck_transform", "RESNET.STRIDE_1X1", "False",
                             "TRAIN.DATASET", "imagenet", "TEST.DATASET", "imagenet", "TRAIN.IM_SIZE", str(a.size),
                             "OPTIM.WEIGHT_DECAY", "5e-5"])
    else:
        cfg.merge_from_list(["MODEL.TYPE", "resnet", "MODEL.DEPTH", str(a.depth), "MODEL.NUM_CLASSES", "10",
                             "TRAIN.DATASET", "cifar10", "TEST.DATASET", "cifar10", "TRAIN.IM_SIZE", str(a.size)])
    model = builders.build_model()
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-5)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(a.batch, 3, a.size, a.size, generator=g)
    y = torch.randint(0, classes, (a.batch,), generator=g)
    times, fb_times = [], []
    for s in range(a.warmup + a.steps):
        start = time.perf_counter()
        targets = torch.nn.functional.one_hot(y, classes).float()
        loss = torch.sum(-targets * torch.nn.functional.log_softmax(model(x), -1), -1).mean()
        optimizer.zero_grad()
        loss.backward()
        backward_done = time.perf_counter()
        optimizer.step()
        if s >= a.warmup:
            times.append(time.perf_counter() - start)
            fb_times.append(backward_done - start)
    median = sorted(times)[len(times) // 2]
    fb = sorted(fb_times)[len(fb_times) // 2]
    print(json.dumps({"peer": "pytorch", "images_per_s": round(a.batch / median, 2), "step_s_median": round(median, 3),
                      "forward_backward_s": round(fb, 3), "sgd_s": round(median - fb, 3), "batch": a.batch, "size": a.size,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
