#!/usr/bin/env python3
"""Trains a small BPE language model with `heed train --tokenizer bpe:N` on the Brown
corpus and checks that its word-level perplexity on (the first lines of) the validation
split is below that of a unigram word model estimated on the training split: words plus
one end-of-sentence per line, add-one smoothing with one extra class for unseen words
(which is generous to the unigram: the BPE model must spell unseen words out).

Then it exports the run to PyTorch and runs bench/lm_word_costs.py on the same lines:
PyTorch's loss must equal heed eval's (1e-4 relative), the script must count the same
words, and its split of the negative log-likelihood by word frequency must add up.

usage: bpe_lm_beats_unigram.py HEED MODEL TRAIN VALID RUN_DIR WORD_COSTS_SCRIPT
"""
import collections
import json
import math
import os
import shutil
import subprocess
import sys

VALID_LINES = 1500


def words(text):
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        yield from line.split()
        yield "</s>"


def unigram_word_perplexity(train_text, valid_text):
    counts = collections.Counter(words(train_text))
    total, types = sum(counts.values()), len(counts)
    nll, n = 0.0, 0
    for w in words(valid_text):
        nll -= math.log((counts.get(w, 0) + 1) / (total + types + 1))
        n += 1
    return math.exp(nll / n), n


def main():
    heed, model, train, valid, run, word_costs = sys.argv[1:7]
    shutil.rmtree(run, ignore_errors=True)
    os.makedirs(run)
    lines = open(valid, encoding="utf-8").read().split("\n")[:VALID_LINES]
    subset = os.path.join(run, "valid_subset.txt")
    with open(subset, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    out = os.path.join(run, "run")
    cmd = [heed, "train", model, "--data", train, "--out", out, "--tokenizer", "bpe:4000",
           "--set", "vocab=4000", "--set", "d_model=128", "--set", "layers=2", "--set", "heads=2",
           "--set", "seq=64", "--set", "p_drop=0.0", "--steps", "2000", "--batch", "16",
           "--lr", "3e-3", "--warmup", "100", "--eval-every", "0", "--log-every", "100"]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    res = json.loads(subprocess.run([heed, "eval", out, "--data", subset, "--json"], check=True,
                                    capture_output=True, text=True).stdout)
    uni, n = unigram_word_perplexity(open(train, encoding="utf-8").read(), open(subset, encoding="utf-8").read())
    print(f"BPE LM: word perplexity {res['ppl_word']:.1f} over {res['words']} words "
          f"({res['tokens']} tokens, {res['loss']:.4f} nats/token, {res['bits_per_byte']:.4f} bits/byte); "
          f"unigram word model: {uni:.1f} over {n} words")
    if res["words"] != n:
        print("FAIL: heed and this script count different numbers of words")
        return 1
    if not res["ppl_word"] < uni:
        print("FAIL: the BPE model did not beat the unigram word model")
        return 1
    print("ok: below the unigram word model")
    return check_word_costs(heed, out, train, subset, res, word_costs, run)


def check_word_costs(heed, out, train, subset, res, script, run):
    export = os.path.join(run, "export")
    subprocess.run([heed, "export", out, "--to", "pytorch", "-o", export], check=True)
    cmd = [sys.executable, script, export, train, subset, "--expect-loss", repr(res["loss"]), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    print(done.stdout + done.stderr, end="")
    if done.returncode != 0:
        print("FAIL: lm_word_costs.py: exit", done.returncode)
        return 1
    costs = json.loads(done.stdout.splitlines()[0])
    groups = costs["groups"]
    if costs["words"] != res["words"] or sum(g["words"] for g in groups.values()) != res["words"]:
        print("FAIL: lm_word_costs.py counts other words than heed eval")
        return 1
    if abs(costs["ppl_word"] - res["ppl_word"]) > 1e-3 * res["ppl_word"]:
        print(f"FAIL: word-level perplexity {costs['ppl_word']} (PyTorch) against {res['ppl_word']} (heed)")
        return 1
    if groups["line end"]["words"] != res["words"] - sum(len(l.split()) for l in open(subset, encoding="utf-8")):
        print("FAIL: line ends miscounted")
        return 1
    print("ok: PyTorch reproduces heed eval's word-level perplexity, split by word frequency")
    return 0


if __name__ == "__main__":
    sys.exit(main())
