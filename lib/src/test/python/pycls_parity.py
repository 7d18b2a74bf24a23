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

    newest = dict(zip(cfg_list[::2], cfg_list[1::2]))
    if any(k in newest for k in NEWEST_ONLY_KEYS):
        return newest_anynet(newest), None
    cfg.merge_from_list(cfg_list)
    return builders.build_model(), cfg


# --- pycls (newest) AnyNet: models/anynet.py + models/blocks.py, restated for what pycls 0.1.1 lacks
# (MODEL.ACTIVATION_FUN silu, ANYNET.HEAD_W, res_bottleneck_linear_block). Same module names. ---

NEWEST_ONLY_KEYS = ("MODEL.ACTIVATION_FUN", "ANYNET.HEAD_W")
nn = torch.nn


def newest_anynet(c):
    import ast

    def get(key, default):
        if key not in c:
            return default
        try:
            return ast.literal_eval(c[key])
        except (ValueError, SyntaxError):
            return c[key]

    act_fun, eps, mom = c.get("MODEL.ACTIVATION_FUN", "relu"), 1e-5, 0.1

    class SiLU(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(x)

    def activation():
        return nn.ReLU(inplace=True) if act_fun == "relu" else SiLU()

    def conv2d(w_in, w_out, k, *, stride=1, groups=1, bias=False):
        return nn.Conv2d(w_in, w_out, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=bias)

    def norm2d(w):
        return nn.BatchNorm2d(w, eps=eps, momentum=mom)

    class Seq(nn.Module):
        def forward(self, x):
            for layer in self.children():
                x = layer(x)
            return x

    class SE(nn.Module):
        def __init__(self, w_in, w_se):
            super().__init__()
            self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
            self.f_ex = nn.Sequential(conv2d(w_in, w_se, 1, bias=True), activation(),
                                      conv2d(w_se, w_in, 1, bias=True), nn.Sigmoid())

        def forward(self, x):
            return x * self.f_ex(self.avg_pool(x))

    class BottleneckTransform(Seq):
        def __init__(self, w_in, w_out, stride, p):
            super().__init__()
            w_b = int(round(w_out * p["bot_mul"]))
            w_se = int(round(w_in * p["se_r"]))
            groups = w_b // p["group_w"]
            self.a, self.a_bn, self.a_af = conv2d(w_in, w_b, 1), norm2d(w_b), activation()
            self.b = conv2d(w_b, w_b, 3, stride=stride, groups=groups)
            self.b_bn, self.b_af = norm2d(w_b), activation()
            self.se = SE(w_b, w_se) if w_se else None
            self.c, self.c_bn = conv2d(w_b, w_out, 1), norm2d(w_out)

    class ResBottleneckBlock(nn.Module):
        def __init__(self, w_in, w_out, stride, p):
            super().__init__()
            self.proj, self.bn = None, None
            if (w_in != w_out) or (stride != 1):
                self.proj, self.bn = conv2d(w_in, w_out, 1, stride=stride), norm2d(w_out)
            self.f = BottleneckTransform(w_in, w_out, stride, p)
            self.af = activation()

        def forward(self, x):
            x_p = self.bn(self.proj(x)) if self.proj else x
            return self.af(x_p + self.f(x))

    class ResBottleneckLinearBlock(nn.Module):
        def __init__(self, w_in, w_out, stride, p):
            super().__init__()
            self.has_skip = (w_in == w_out) and (stride == 1)
            self.f = BottleneckTransform(w_in, w_out, stride, p)

        def forward(self, x):
            return x + self.f(x) if self.has_skip else self.f(x)

    class SimpleStem(Seq):
        def __init__(self, w_in, w_out):
            super().__init__()
            self.conv, self.bn, self.af = conv2d(w_in, w_out, 3, stride=2), norm2d(w_out), activation()

    class AnyHead(nn.Module):
        def __init__(self, w_in, head_width, num_classes):
            super().__init__()
            self.head_width = head_width
            if head_width > 0:
                self.conv, self.bn, self.af = conv2d(w_in, head_width, 1), norm2d(head_width), activation()
                w_in = head_width
            self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(w_in, num_classes, bias=True)

        def forward(self, x):
            x = self.af(self.bn(self.conv(x))) if self.head_width > 0 else x
            return self.fc(self.avg_pool(x).view(x.size(0), -1))

    blocks = {"res_bottleneck_block": ResBottleneckBlock, "res_bottleneck_linear_block": ResBottleneckLinearBlock}
    assert get("ANYNET.STEM_TYPE", "simple_stem_in") == "simple_stem_in"
    block_fun = blocks[c["ANYNET.BLOCK_TYPE"]]
    se_r = get("ANYNET.SE_R", 0.25) if get("ANYNET.SE_ON", False) else 0
    model = Seq()
    model.stem = SimpleStem(3, get("ANYNET.STEM_W", 32))
    prev_w = get("ANYNET.STEM_W", 32)
    for i, (d, w, s, b, g) in enumerate(zip(get("ANYNET.DEPTHS", []), get("ANYNET.WIDTHS", []),
                                            get("ANYNET.STRIDES", []), get("ANYNET.BOT_MULS", []),
                                            get("ANYNET.GROUP_WS", []))):
        stage = Seq()
        for j in range(d):
            stage.add_module("b{}".format(j + 1), block_fun(prev_w if j == 0 else w, w, s if j == 0 else 1,
                                                            {"bot_mul": b, "group_w": g, "se_r": se_r}))
        model.add_module("s{}".format(i + 1), stage)
        prev_w = w
    model.head = AnyHead(prev_w, get("ANYNET.HEAD_W", 0), get("MODEL.NUM_CLASSES", 10))
    return model


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

        if cfg is not None:
            result.update(complexity(model))
        else:
            result["params"] = sum(p.numel() for p in model.parameters())
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
