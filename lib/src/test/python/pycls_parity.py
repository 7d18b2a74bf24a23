#!/usr/bin/env python3
"""PyTorch side of the model parity tests (ai.emaspark.model.PyclsParityTest).

    pycls_parity.py CASE_DIR

CASE_DIR/case.json names a pycls config (a list of KEY VALUE pairs for pycls's yacs config) and
what to run; weights.safetensors holds our initial state under pycls's state_dict names;
inputs.safetensors holds the images and labels. The model is pycls's own code (pycls 0.1.1 from
PyPI), loaded with load_state_dict(strict=True). Written to CASE_DIR/result.json:

  params, flops, acts   pycls.core.net.complexity(model) at TRAIN.IM_SIZE
  logits                eval-mode output for inputs["eval_x"], flattened
  losses                training losses of torch.optim.SGD as pycls builds it (construct_optimizer)
                        with soft cross-entropy on smoothed labels, one per step, plus a last
                        forward after the final step
  bn_stats              after compute_precise_bn_stats (restated: 0.1.1's calls .cuda()) over
                        inputs["bn_x_*"], every BN running_mean / running_var by name
  lrs                   per case in case["lr_cases"], the lr of every epoch by pycls's newest
                        get_epoch_lr (restated below: PyPI's pycls 0.1.1 predates MIN_LR and lin)
"""

import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file

torch.set_num_threads(int(os.environ.get("PARITY_THREADS", "2")))
torch.use_deterministic_algorithms(False)


def pycls_model(cfg_list):
    from pycls.core.config import cfg
    import pycls.core.builders as builders

    cfg.merge_from_list(cfg_list)
    return builders.build_model(), cfg


# --- pycls (newest) label smoothing and soft cross-entropy: pycls/core/net.py, models/losses.py ---


def smooth_one_hot_labels(labels, n_classes, label_smooth):
    neg_val = label_smooth / n_classes
    pos_val = 1.0 - label_smooth + neg_val
    one_hot = torch.full((labels.shape[0], n_classes), neg_val, dtype=torch.float)
    one_hot.scatter_(1, labels.long().view(-1, 1), pos_val)
    return one_hot


def soft_cross_entropy(x, y):
    return torch.sum(-y * torch.nn.functional.log_softmax(x, -1), -1).mean()


# --- pycls (newest) precise BN: pycls/core/net.py compute_precise_bn_stats, the loader a list ---


@torch.no_grad()
def compute_precise_bn_stats(model, batches):
    num_iter = len(batches)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    running_means = [torch.zeros_like(bn.running_mean) for bn in bns]
    running_vars = [torch.zeros_like(bn.running_var) for bn in bns]
    momentums = [bn.momentum for bn in bns]
    for bn in bns:
        bn.momentum = 1.0
    for inputs in batches:
        model(inputs)
        for i, bn in enumerate(bns):
            running_means[i] += bn.running_mean / num_iter
            running_vars[i] += bn.running_var / num_iter
    for i, bn in enumerate(bns):
        bn.running_mean = running_means[i]
        bn.running_var = running_vars[i]
        bn.momentum = momentums[i]


# --- pycls (newest) lr policies: pycls/core/optimizer.py ---


def epoch_lr(o, cur_epoch):
    policy = o["LR_POLICY"]
    if policy == "steps":
        ind = [i for i, s in enumerate(o["STEPS"]) if cur_epoch >= s][-1]
        lr = o["LR_MULT"] ** ind
    elif policy == "exp":
        lr = o["MIN_LR"] ** (cur_epoch / o["MAX_EPOCH"])
    elif policy == "cos":
        lr = 0.5 * (1.0 + np.cos(np.pi * cur_epoch / o["MAX_EPOCH"]))
        lr = (1.0 - o["MIN_LR"]) * lr + o["MIN_LR"]
    elif policy == "lin":
        lr = 1.0 - cur_epoch / o["MAX_EPOCH"]
        lr = (1.0 - o["MIN_LR"]) * lr + o["MIN_LR"]
    else:
        raise ValueError(policy)
    lr = lr * o["BASE_LR"]
    if cur_epoch < o["WARMUP_EPOCHS"]:
        alpha = cur_epoch / o["WARMUP_EPOCHS"]
        lr *= o["WARMUP_FACTOR"] * (1.0 - alpha) + alpha
    return float(lr)


def main(case_dir):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    result = {}
    if case.get("cfg"):
        model, cfg = pycls_model(case["cfg"])
        from pycls.core.net import complexity
        import pycls.core.optimizer as optim

        result.update(complexity(model))
        weights = load_file(os.path.join(case_dir, "weights.safetensors"))
        inputs = load_file(os.path.join(case_dir, "inputs.safetensors"))
        model.load_state_dict(weights, strict=True)
        if "eval_x" in inputs:
            model.eval()
            with torch.no_grad():
                result["logits"] = model(inputs["eval_x"]).flatten().tolist()
        bn_batches = sorted(k for k in inputs if k.startswith("bn_x_"))
        if bn_batches:
            model.load_state_dict(weights, strict=True)
            model.train()
            compute_precise_bn_stats(model, [inputs[k] for k in bn_batches])
            result["bn_stats"] = {k: v.flatten().tolist() for k, v in model.state_dict().items()
                                  if k.endswith("running_mean") or k.endswith("running_var")}
        steps = case.get("train_lrs", [])
        if steps:
            model.train()
            optimizer = optim.construct_optimizer(model)
            losses = []
            for k in range(len(steps) + 1):
                x, y = inputs["train_x_%d" % k], inputs["train_y_%d" % k]
                targets = smooth_one_hot_labels(y, cfg.MODEL.NUM_CLASSES, case["label_smoothing"])
                loss = soft_cross_entropy(model(x), targets)
                losses.append(loss.item())
                if k < len(steps):
                    optim.set_lr(optimizer, steps[k])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
            result["losses"] = losses
    result["lrs"] = [[epoch_lr(o, e) for e in range(o["MAX_EPOCH"])] for o in case.get("lr_cases", [])]
    with open(os.path.join(case_dir, "result.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1])
