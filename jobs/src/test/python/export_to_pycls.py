#!/usr/bin/env python3
"""The export of a checkpoint entry to pycls's .pyth format, checked with pycls's own loader
(run by ai.emaspark.jobs.NotebooksIT; by hand against any finished run):

    export_to_pycls.py --webhdfs HOST:PORT --out-dir /runs/x --work DIR

For the EMA and the model of the newest checkpoint, and the EMA of best/: runs the documented command
(notebooks/emaspark_io.py export), then does what pycls's tools/test_net.py does before testing (merge
the config, build the model, pycls.core.checkpoint.load_checkpoint(cfg.TEST.WEIGHTS, model)) and
asserts every loaded tensor equals the one in the safetensors entry, bit for bit. pycls's test_epoch
itself needs CUDA (setup_model calls .cuda()), so it is not run here.
"""

import argparse
import os
import subprocess
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
sys.path.insert(0, NOTEBOOKS)
import emaspark_io as eio  # noqa: E402


def export(webhdfs, checkpoint, entry, out):
    """The command line a user runs, as a separate process."""
    command = [sys.executable, os.path.join(NOTEBOOKS, "emaspark_io.py"), "export", "--webhdfs", webhdfs,
               "--checkpoint", checkpoint, "--entry", entry, "--out", out]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}"
    print(done.stdout.strip())


def load_as_test_net_does(pyth, work):
    """pycls 0.1.1's test_net.py: cfg from a YAML file (here the one stored in the .pyth) plus
    TEST.WEIGHTS, build_model, load_checkpoint. Returns (model, epoch load_checkpoint returned)."""
    import pycls.core.builders as builders
    import pycls.core.checkpoint as checkpoint
    from pycls.core.config import cfg, reset_cfg

    cfg_file = os.path.join(work, os.path.basename(pyth) + ".yaml")
    with open(cfg_file, "w") as f:
        f.write(torch.load(pyth, map_location="cpu")["cfg"])
    cfg.defrost()
    reset_cfg()
    cfg.merge_from_file(cfg_file)
    cfg.merge_from_list(["TEST.WEIGHTS", pyth])
    model = builders.build_model()
    epoch = checkpoint.load_checkpoint(cfg.TEST.WEIGHTS, model)
    return model, epoch


def check_entry(fs, webhdfs, checkpoint, entry, work):
    name = f"{os.path.basename(checkpoint)}-{entry}.pyth"
    pyth = os.path.join(work, name)
    export(webhdfs, checkpoint, entry, pyth)
    model, epoch = load_as_test_net_does(pyth, work)
    meta = eio.read_meta(fs, checkpoint)
    expected_epoch = eio.entry_epoch(meta, entry)
    assert epoch == expected_epoch, f"{name}: epoch {epoch}, meta.json says {expected_epoch}"
    ours = eio.read_entry(fs, checkpoint, entry, meta)
    loaded = model.state_dict()
    assert sorted(loaded) == sorted(ours), f"{name}: keys differ"
    for key, tensor in ours.items():
        assert loaded[key].dtype == tensor.dtype and torch.equal(loaded[key], tensor), f"{name}: {key} differs"
    print(f"{name}: pycls load_checkpoint gave epoch {epoch} and {len(ours)} tensors equal to {entry}.safetensors")


def check_iteration_series():
    """train_iter lines (none in the runs this test reads yet) -> global iterations across epochs."""
    lines = [{"_type": "train_iter", "epoch": "2/3", "iter": "5/10", "loss": 1.0},
             {"_type": "train_iter", "epoch": "1/3", "iter": "10/10", "loss": 2.0},
             {"_type": "train_iter", "epoch": "1/3", "iter": "5/10", "loss": 3.0}]
    assert [i for i, _ in eio.iteration_series(lines)] == [5, 10, 15]
    assert eio.hdfs_path("hdfs://nn:8020/runs/x") == "/runs/x" and eio.hdfs_path("/runs/x") == "/runs/x"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--webhdfs", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    check_iteration_series()
    run = eio.Run.open(args.webhdfs, args.out_dir)
    last = run.checkpoints()[-1]
    powers = [p["name"] for p in run.meta(last).get("power_emas", {}).get("profiles", [])]
    assert powers, "the shared run keeps power EMAs (conf/quickstart.yaml's EMA.POWER_SIGMA_RELS)"
    checks = [(last, "ema"), (last, "model"), (run.best(), "ema")]
    checks += [(last, powers[0]), (run.best(), powers[-1])]  # any entry exports: a power EMA, and one kept in best/
    for checkpoint, entry in checks:
        check_entry(run.fs, args.webhdfs, checkpoint, entry, args.work)
    print("EXPORT_CHECK ok")


if __name__ == "__main__":
    main()
