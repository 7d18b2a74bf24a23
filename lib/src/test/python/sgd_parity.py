"""PyTorch side of ai.emaspark.train.SgdParityTest: torch.optim.SGD over the case's tensors.

    sgd_parity.py CASE_DIR

CASE_DIR/case.json: momentum, dampening, nesterov, lrs (one per step), weight_decay (per tensor name);
weights.safetensors: the start values of the trainable tensors; grads_<k>.safetensors: step k's
averaged gradients. Writes weights_after.safetensors and momentum_after.safetensors. Every file
names a tensor NAME.momentum_buffer, the layout the Java side's optimizer files use, whatever it holds.
One thread, as the Java side's update runs.
"""

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def main():
    case_dir = Path(sys.argv[1])
    case = json.loads((case_dir / "case.json").read_text())
    torch.set_num_threads(1)
    suffix = ".momentum_buffer"
    start = {k.removesuffix(suffix): v for k, v in load_file(str(case_dir / "weights.safetensors")).items()}
    names = sorted(case["weight_decay"])
    params = {n: torch.nn.Parameter(start[n].clone()) for n in names}
    groups = [{"params": [params[n]], "weight_decay": case["weight_decay"][n]} for n in names]
    optimizer = torch.optim.SGD(groups, lr=case["lrs"][0], momentum=case["momentum"], dampening=case["dampening"],
                                nesterov=case["nesterov"], foreach=False)
    for k, lr in enumerate(case["lrs"]):
        grads = {k.removesuffix(suffix): v for k, v in load_file(str(case_dir / f"grads_{k}.safetensors")).items()}
        for n in names:
            params[n].grad = grads[n].clone()
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
    save_file({n + suffix: p.detach().clone() for n, p in params.items()}, str(case_dir / "weights_after.safetensors"))
    save_file({n + suffix: optimizer.state[p]["momentum_buffer"].clone() for n, p in params.items()},
              str(case_dir / "momentum_after.safetensors"))


if __name__ == "__main__":
    main()
