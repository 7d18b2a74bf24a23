#!/usr/bin/env python3
"""Read an emaspark run from HDFS over WebHDFS, in Python, without copying it to local disk.

    from emaspark_io import Run
    run = Run.open("namenode:9870", "/runs/quickstart")
    epochs = run.metrics("test_ema_epoch")            # pycls json_stats lines of one _type
    ckpt = run.checkpoints()[-1]                      # "/runs/quickstart/checkpoints/model_epoch_0003"
    meta = run.meta(ckpt)                             # epoch, errors of model and EMA, config, entries
    powers = run.power_ema_tests()                    # {"p0.100": {epoch: stats}} of EMA.POWER_SIGMA_RELS
    sweep = run.reconstructions()                     # PostHocEma's reconstructions: sigma_rel, ema_err, ...
    model = run.pycls_model(ckpt, "ema")              # pycls's own nn.Module, weights loaded strictly

Command line: export a checkpoint's EMA (or model) weights to pycls's .pyth checkpoint format, so
pycls's own tools (test_net.py TEST.WEIGHTS model.pyth) and load_checkpoint read it:

    python emaspark_io.py export --webhdfs host:port --checkpoint /runs/x/checkpoints/model_epoch_0003 \
        --entry ema --out model.pyth

Layout (see lib/.../checkpoint/CheckpointStore.java): OUT_DIR/config.yaml, OUT_DIR/metrics.jsonl,
OUT_DIR/checkpoints/model_epoch_NNNN/{model,ema,optimizer}.safetensors (and ema_p<sigma_rel>.safetensors
per power EMA) + meta.json, and
OUT_DIR/checkpoints/best/, OUT_DIR/posthoc/ (stored power EMAs, reconstructed_r<sigma_rel>/). A prepared dataset is DATASET/manifest.json + DATASET/SPLIT/*.parquet.
"""

import argparse
import hashlib
import io
import json
import math
import re
from urllib.parse import urlparse

import cv2
import fsspec
import numpy as np
import pyarrow.parquet as pq
import torch
import yaml
from safetensors.torch import load as load_safetensors

ENTRIES = {"model": "model.safetensors", "ema": "ema.safetensors"}
POWER_ENTRY = re.compile(r"p\d\.\d{3}")  # EmaBank.Power.name: a power EMA of EMA.POWER_SIGMA_RELS
CHECKPOINT_NAME = re.compile(r"model_epoch_(\d{4,})")  # CheckpointStore.NAME
POWER_STATS = re.compile(r"test_ema_(p\d\.\d{3})_epoch")  # TrainDriver.powerStatsType

# pycls's per-channel colour statistics, RGB order (pycls/datasets/imagenet.py, newest)
MEAN_RGB = [0.485, 0.456, 0.406]
STD_RGB = [0.229, 0.224, 0.225]
# As PyclsTransforms.decode: colour, and EXIF orientation ignored (as pycls's cv2.imread on a file
# without rotation, and as Pillow/torchvision do)
DECODE_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION

# Keys of our config that change the network but that pycls 0.1.1 does not have, with the value
# under which 0.1.1's network is the same; any other value cannot be built by pycls 0.1.1.
NEWER_MODEL_KEYS = {"MODEL.ACTIVATION_FUN": "relu", "ANYNET.HEAD_W": 0, "REGNET.HEAD_W": 0}
RESNET_IMAGENET_DEPTHS = (50, 101, 152)


# --- HDFS over WebHDFS ---


def webhdfs(address, user=None):
    """An fsspec filesystem on WebHDFS at "host:port" (the NameNode's HTTP address)."""
    host, port = address.rsplit(":", 1)
    return fsspec.filesystem("webhdfs", host=host, port=int(port), user=user)


def hdfs_path(uri):
    """The path part of an hdfs:// URI ("hdfs://nn:8020/runs/x" -> "/runs/x"); a plain path as is."""
    return urlparse(uri).path if "://" in uri else uri


def read_json(fs, path):
    return json.loads(fs.cat_file(path))


# --- metrics.jsonl: pycls json_stats lines ---


def epoch_number(stats):
    """The 1-based epoch of a stats line, from pycls's "k/N" label."""
    return int(stats["epoch"].split("/")[0])


def by_epoch(lines):
    """{epoch: stats}, the last line of each epoch winning (a resumed run writes each epoch once)."""
    return {epoch_number(s): s for s in lines}


def iteration_series(lines):
    """train_iter lines -> (global iteration, line) pairs in order; the global iteration counts from 1
    across epochs, with "iter" k/M meaning iteration k of M in that epoch."""
    series = []
    for s in lines:
        k, per_epoch = (int(v) for v in s["iter"].split("/"))
        series.append(((epoch_number(s) - 1) * per_epoch + k, s))
    return sorted(series, key=lambda pair: pair[0])


# --- a run: metrics, config, checkpoints ---


class Run:
    """A run's OUT_DIR read over WebHDFS."""

    def __init__(self, fs, out_dir):
        self.fs = fs
        self.out_dir = hdfs_path(out_dir).rstrip("/")

    @classmethod
    def open(cls, address, out_dir, user=None):
        return cls(webhdfs(address, user), out_dir)

    def metrics(self, type_=None):
        """metrics.jsonl's lines as dicts, in order; only those of _type type_ when given."""
        text = self.fs.cat_file(f"{self.out_dir}/metrics.jsonl").decode("utf-8")
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [s for s in lines if type_ is None or s.get("_type") == type_]

    def power_ema_tests(self):
        """{name: {epoch: stats}} of every power EMA (EMA.POWER_SIGMA_RELS), from its test_ema_<name>_epoch
        lines (TrainDriver.powerStatsType), names in order; only the epochs EMA.EVAL_PERIOD tested."""
        tests = {}
        for s in self.metrics():
            match = POWER_STATS.fullmatch(s.get("_type", ""))
            if match:
                tests.setdefault(match.group(1), {})[epoch_number(s)] = s
        return dict(sorted(tests.items()))

    def reconstructions(self):
        """Post-hoc EMAs PostHocEma wrote (OUT_DIR/posthoc/reconstructed_r*), by sigma_rel: meta.json's
        "posthoc" (sigma_rel, profile_error, condition_number, and ema_err when it tested them) with the folder."""
        folder = f"{self.out_dir}/posthoc"
        if not self.fs.exists(folder):
            return []
        found = []
        for path in self.fs.ls(folder, detail=False):
            path = hdfs_path(path).rstrip("/")
            if path.rsplit("/", 1)[-1].startswith("reconstructed_r"):
                found.append(dict(read_meta(self.fs, path)["posthoc"], folder=path))
        return sorted(found, key=lambda r: r["sigma_rel"])

    def config_yaml(self):
        return self.fs.cat_file(f"{self.out_dir}/config.yaml").decode("utf-8")

    def checkpoints(self):
        """Committed checkpoint folders, oldest first (temporary and best/ folders left out)."""
        folder = f"{self.out_dir}/checkpoints"
        numbered = {}
        for path in self.fs.ls(folder, detail=False):
            match = CHECKPOINT_NAME.fullmatch(path.rstrip("/").rsplit("/", 1)[-1])
            if match:
                numbered[int(match.group(1))] = hdfs_path(path)
        return [numbered[n] for n in sorted(numbered)]

    def best(self):
        return f"{self.out_dir}/checkpoints/best"

    def meta(self, checkpoint):
        return read_meta(self.fs, checkpoint)

    def state_dict(self, checkpoint, entry="ema"):
        return read_entry(self.fs, checkpoint, entry)

    def pycls_model(self, checkpoint, entry="ema"):
        return load_pycls_model(self.fs, checkpoint, entry)


def read_meta(fs, checkpoint):
    return read_json(fs, f"{checkpoint.rstrip('/')}/meta.json")


def entry_file(entry):
    """The file of an entry: "model", "ema", or a power EMA's name such as "p0.100" (ema_p0.100.safetensors)."""
    if entry in ENTRIES:
        return ENTRIES[entry]
    if POWER_ENTRY.fullmatch(entry):
        return f"ema_{entry}.safetensors"
    raise ValueError(f"entry {entry!r} is not model, ema or a power EMA's name such as p0.100")


def read_entry(fs, checkpoint, entry="ema", meta=None):
    """A checkpoint entry ("ema", "model" or a power EMA such as "p0.100") as a state_dict of pycls's
    keys, checked against meta.json."""
    name = entry_file(entry)
    meta = meta or read_meta(fs, checkpoint)
    data = fs.cat_file(f"{checkpoint.rstrip('/')}/{name}")
    expected = meta["entries"][name]
    # The same checks as CheckpointStore.verified: a truncated or altered file is never loaded
    if len(data) != expected["bytes"]:
        raise ValueError(f"{checkpoint}/{name}: {len(data)} bytes, meta.json says {expected['bytes']}")
    if hashlib.sha256(data).hexdigest() != expected["sha256"]:
        raise ValueError(f"{checkpoint}/{name} fails its SHA-256 check")
    return load_safetensors(data)


# --- pycls's model for a run's config ---


def flatten(tree, prefix=""):
    """{"MODEL": {"TYPE": "resnet"}} -> {"MODEL.TYPE": "resnet"}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def pycls_config(config_yaml):
    """Sets pycls's global cfg (pycls.core.config.cfg) from our config.yaml text and returns it.

    Keys pycls 0.1.1 has are copied (ints given for floats made floats, as yacs wants the default's
    type); keys it lacks are left out, unless they change the network (NEWER_MODEL_KEYS), which is
    an error. TRAIN/TEST.DATASET are paths in our config but pycls's ResNet picks its layout from the
    name: "cifar10" for depths 6n+2, "imagenet" for 50/101/152, as our ResNet decides by depth.
    """
    from pycls.core.config import cfg, reset_cfg

    ours = flatten(yaml.safe_load(config_yaml))
    for key, neutral in NEWER_MODEL_KEYS.items():
        if key in ours and ours[key] != neutral:
            raise ValueError(f"{key} {ours[key]} has no equivalent in pycls 0.1.1 (only {neutral})")
    cfg.defrost()
    reset_cfg()
    for key, value in ours.items():
        section, _, name = key.rpartition(".")
        node = cfg
        for part in section.split(".") if section else []:
            node = node.get(part)
            if node is None:
                break
        if node is None or name not in node:
            continue  # newer than pycls 0.1.1 (EMA, label smoothing, ...): no effect on the network
        default = node[name]
        if isinstance(default, float) and isinstance(value, (int, str)) and not isinstance(value, bool):
            value = float(value)  # YAML 1.1 reads "1.0E10" (no exponent sign) as a string
        if isinstance(default, list):
            value = list(value)
        node[name] = value
    dataset = "imagenet"
    if cfg.MODEL.TYPE == "resnet" and cfg.MODEL.DEPTH not in RESNET_IMAGENET_DEPTHS:
        dataset = "cifar10"
    cfg.TRAIN.DATASET = cfg.TEST.DATASET = dataset
    return cfg


def build_pycls_model(config_yaml):
    """pycls's own network for our config, in eval mode, on the CPU."""
    import pycls.core.builders as builders

    pycls_config(config_yaml)
    return builders.build_model().eval()


def load_pycls_model(fs, checkpoint, entry="ema"):
    """pycls's network of the checkpoint's config with the entry's weights (load_state_dict strict)."""
    meta = read_meta(fs, checkpoint)
    model = build_pycls_model(meta["config"])
    model.load_state_dict(read_entry(fs, checkpoint, entry, meta), strict=True)
    return model


# --- export to pycls's .pyth checkpoint ---


def pyth_checkpoint(state_dict, epoch, config_yaml):
    """The dict pycls 0.1.1's save_checkpoint writes: epoch index, model_state and cfg.dump().

    No optimizer_state: pycls's load_checkpoint reads it only when given an optimizer (resuming),
    and a momentum buffer of the EMA would mean nothing.
    """
    cfg = pycls_config(config_yaml)
    return {"epoch": epoch, "model_state": state_dict, "cfg": cfg.dump()}


def entry_epoch(meta, entry):
    """The 0-based epoch an entry's weights are from: best/ holds the model of one epoch and the EMA of
    another (its meta.json's ema_epoch); a model_epoch_NNNN folder holds both from epoch NNNN - 1."""
    if POWER_ENTRY.fullmatch(entry):  # best/ keeps each power EMA of its own best epoch
        return meta.get("power_ema_best", {}).get(entry, {}).get("epoch", meta["epoch"])
    return meta.get("ema_epoch", meta["epoch"]) if entry == "ema" else meta["epoch"]


def export_pyth(fs, checkpoint, entry, out_path):
    """Writes the checkpoint's entry as a pycls .pyth file; returns the meta.json it came from."""
    meta = read_meta(fs, checkpoint)
    state = read_entry(fs, checkpoint, entry, meta)
    torch.save(pyth_checkpoint(state, entry_epoch(meta, entry), meta["config"]), out_path)
    return meta


# --- the prepared dataset and pycls's test transform ---


def read_manifest(fs, dataset):
    return read_json(fs, f"{hdfs_path(dataset).rstrip('/')}/manifest.json")


def class_names(manifest):
    """Class index -> human-readable name (the wnid when the manifest has no name)."""
    names = manifest.get("class_names") or {}
    return [names.get(wnid, wnid) for wnid in manifest["classes"]]


def split_rows(fs, dataset, split, columns=("key", "label", "wnid", "image")):
    """Yields the rows of a split's shards (manifest order) as dicts; shards are read into memory."""
    root = hdfs_path(dataset).rstrip("/")
    for shard in read_manifest(fs, root)["splits"][split]["shards"]:
        table = pq.read_table(io.BytesIO(fs.cat_file(f"{root}/{split}/{shard['name']}")), columns=list(columns))
        yield from table.to_pylist()


def decode(encoded):
    """JPEG/PNG bytes -> BGR uint8 HWC, as cv2.imread does for pycls; None when OpenCV cannot read it."""
    return cv2.imdecode(np.frombuffer(encoded, np.uint8), DECODE_FLAGS)


def scale_and_center_crop(im, scale_size, crop_size):
    """pycls's transforms.scale_and_center_crop (newest pycls), as PyclsTransforms.scaleAndCenterCrop."""
    h, w = im.shape[:2]
    if w < h and w != scale_size:
        w, h = scale_size, int(h / w * scale_size)
        im = cv2.resize(im, (w, h), interpolation=cv2.INTER_LINEAR)
    elif h <= w and h != scale_size:
        w, h = int(w / h * scale_size), scale_size
        im = cv2.resize(im, (w, h), interpolation=cv2.INTER_LINEAR)
    x = math.ceil((w - crop_size) / 2)
    y = math.ceil((h - crop_size) / 2)
    return im[y : y + crop_size, x : x + crop_size, :]


def test_input(bgr, scale_size, crop_size):
    """pycls's test transform of a decoded image, as PyclsTransforms.test computes it.

    Newest pycls's _prepare_im: BGR uint8 -> RGB float32 / 255, scale the short side to
    TEST.IM_SIZE and centre-crop TRAIN.IM_SIZE (bilinear resize of the RGB float image), colour
    norm, then CHW in BGR channel order. (pycls 0.1.1 resized BGR 0..255 values before dividing,
    which rounds differently; the Java job follows the newest pycls.)
    """
    im = bgr[:, :, ::-1].astype(np.float32) / 255
    im = scale_and_center_crop(im, scale_size, crop_size)
    im = np.array(im, dtype=np.float32)  # a writable copy of the crop
    for c in range(3):
        im[:, :, c] = (im[:, :, c] - MEAN_RGB[c]) / STD_RGB[c]
    return np.ascontiguousarray(im[:, :, ::-1].transpose([2, 0, 1]))


def top_hits(logits, labels, k):
    """Rows whose label is in the top k, counted as TopK.hits does: fewer than k classes score strictly higher."""
    target = logits.gather(1, labels.view(-1, 1))
    return int(((logits > target).sum(dim=1) < k).sum())


def error_percent(hits, images):
    """EvalCounts.error: 100 * (1 - hits / images), in the same float64 operations."""
    return 100.0 if images == 0 else 100.0 * (1.0 - hits / images)


# --- command line ---


def main(argv=None):
    parser = argparse.ArgumentParser(description="emaspark runs on HDFS, read over WebHDFS")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="a checkpoint entry as a pycls .pyth checkpoint")
    export.add_argument("--webhdfs", required=True, help="host:port of the NameNode's WebHDFS")
    export.add_argument("--checkpoint", required=True, help="checkpoint folder (path or hdfs:// URI)")
    export.add_argument("--entry", default="ema", help="model, ema, or a power EMA's name such as p0.100")
    export.add_argument("--out", required=True, help="local .pyth file to write")
    export.add_argument("--user", default=None, help="HDFS user name for WebHDFS (default: none sent)")
    args = parser.parse_args(argv)

    fs = webhdfs(args.webhdfs, args.user)
    meta = export_pyth(fs, hdfs_path(args.checkpoint), args.entry, args.out)
    if POWER_ENTRY.fullmatch(args.entry):
        err = meta.get("power_ema_best", {}).get(args.entry, {}).get("err", "not recorded here (see metrics.jsonl)")
    else:
        err = meta["ema_err"] if args.entry == "ema" else meta["test_err"]
    print(f"wrote {args.out}: {args.entry} of {args.checkpoint} (epoch {entry_epoch(meta, args.entry) + 1}, "
          f"top-1 error {err})")


if __name__ == "__main__":
    main()
