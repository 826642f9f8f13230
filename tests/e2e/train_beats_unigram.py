#!/usr/bin/env python3
"""Trains a small config of a byte-level LM with `heed train` on real text and checks
that its validation loss ends below the unigram cross-entropy of the validation text
under the training text's byte frequencies: the best any context-free model can do.

usage: train_beats_unigram.py HEED MODEL TRAIN VALID RUN_DIR
"""
import collections
import json
import math
import shutil
import subprocess
import sys


def unigram_cross_entropy(train_path, valid_path):
    train = open(train_path, "rb").read()
    valid = open(valid_path, "rb").read()
    counts = collections.Counter(train)
    total = len(train)
    # Add-one smoothing over all 256 byte values, so unseen bytes do not give infinity.
    nll = 0.0
    for b, n in collections.Counter(valid).items():
        p = (counts.get(b, 0) + 1) / (total + 256)
        nll -= n * math.log(p)
    return nll / len(valid)


def main():
    heed, model, train, valid, run = sys.argv[1:6]
    shutil.rmtree(run, ignore_errors=True)
    cmd = [heed, "train", model, "--data", train, "--valid", valid, "--out", run,
           "--set", "d_model=64", "--set", "layers=2", "--set", "heads=2", "--set", "seq=64",
           "--set", "p_drop=0.0", "--steps", "400", "--batch", "16", "--lr", "3e-3",
           "--warmup", "40", "--eval-every", "0", "--eval-batches", "40", "--log-every", "50"]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    out = subprocess.run([heed, "eval", run, "--data", valid, "--json", "--max-batches", "40"],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    unigram = unigram_cross_entropy(train, valid)
    print(f"validation loss {result['loss']:.4f} nats/byte over {result['tokens']} bytes; "
          f"unigram cross-entropy {unigram:.4f} nats/byte")
    if not result["loss"] < unigram:
        print("FAIL: the model did not beat the unigram baseline")
        return 1
    print("ok: below the unigram baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
