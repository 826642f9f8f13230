#!/usr/bin/python3
"""`heed plot` on real runs: two tiny language-model runs and a tiny seq2seq run train a
few steps; the SVG must hold, for every panel, one curve per run and metric with one
point per metrics.jsonl row that has the value (counted from gnuplot's SVG: each plot
is a <g id="gnuplot_plot_N<panel>"> group titled with its legend entry, one <use> per
point plus one for the legend sample). A .png must be a PNG. Empty and truncated
metrics files must give one clear error, exit 1, and no image.

usage: plot_curves.py HEED EXAMPLES_DIR WORK_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys

HEED, EX, WORK = sys.argv[1:4]
DATA = os.path.join(EX, "data")
SMALL = ["--set", "layers=1", "--set", "d_model=16", "--set", "heads=2"]

PANELS = [  # what heed plot draws (runtime/CurvePlot.cpp), in order
    ("step", [("loss", "train"), ("valid_loss", "valid")]),
    ("elapsed_s", [("loss", "train"), ("valid_loss", "valid")]),
    ("step", [("lr", "")]),
    ("step", [("tokens_per_s", "")]),
    ("step", [("valid_wer", "WER"), ("valid_per", "PER")]),
    ("elapsed_s", [("progress", "")]),
]


def heed(args, expect=0):
    p = subprocess.run([HEED] + args, capture_output=True, text=True)
    if p.returncode != expect:
        sys.exit("heed %s: exit %d (expected %d)\n%s%s" % (" ".join(args), p.returncode, expect, p.stdout, p.stderr))
    return p


def train_lm(name, steps, lr):
    out = os.path.join(WORK, name)
    heed(["train", os.path.join(EX, "tiny_lm.heed"), "--data", os.path.join(DATA, "moby-dick", "moby_dick.train.txt"),
          "--valid", os.path.join(DATA, "moby-dick", "moby_dick.valid.txt"), "--steps", str(steps), "--lr", str(lr),
          "--eval-every", "4", "--eval-batches", "2", "--log-every", "2", "--batch", "4", "--set", "seq=16",
          "--out", out, "-q"] + SMALL)
    return out


def train_budgeted(name):
    """A time-budgeted run (0.01 minutes): its metrics rows carry the schedule's progress."""
    out = os.path.join(WORK, name)
    heed(["train", os.path.join(EX, "tiny_lm.heed"), "--data", os.path.join(DATA, "moby-dick", "moby_dick.train.txt"),
          "--schedule", "cosine", "--schedule-by", "time", "--max-minutes", "0.01", "--warmup", "2",
          "--eval-every", "0", "--log-every", "2", "--batch", "4", "--set", "seq=16", "--out", out, "-q"] + SMALL)
    return out


def train_g2p(name):
    out = os.path.join(WORK, name)
    heed(["train", os.path.join(EX, "g2p.heed"), "--schedule-by", "steps", "--data", os.path.join(DATA, "cmudict", "train.tsv"),
          "--valid", os.path.join(DATA, "cmudict", "dev.tsv"), "--steps", "6", "--warmup", "2", "--eval-every", "3",
          "--eval-batches", "1", "--decode-every", "3", "--eval-words", "10", "--log-every", "1", "--batch", "8",
          "--buckets", "", "--set", "d_ff=32", "--out", out, "-q"] + SMALL)
    return out


def expected(runs):
    """{(panel index, legend title): points} from the metrics files themselves."""
    want = {}
    rows = {r: [json.loads(l) for l in open(os.path.join(r, "metrics.jsonl"))] for r in runs}
    for i, (x, series) in enumerate(PANELS):
        for key, label in series:
            for r in runs:
                n = sum(1 for row in rows[r] if row.get(key) is not None and row.get(x) is not None)
                if n:
                    want[(i, os.path.basename(r) + (" " + label if label else ""))] = n
    return want


def drawn(svg_path):
    svg = open(svg_path).read()
    got = {}
    panels = []
    starts = list(re.finditer(r'<g id="gnuplot_plot_\d+([a-z]+)" ><title>([^<]*)</title>', svg))
    for k, m in enumerate(starts):
        # A plot's group runs to the next plot's, or to the end of its panel (the border).
        end = starts[k + 1].start() if k + 1 < len(starts) else len(svg)
        body = svg[m.end():end]
        border = body.find("<g fill=\"none\" color=\"white\"")
        if border >= 0:
            body = body[:border]
        letter, title = m.group(1), m.group(2)
        if letter not in panels:
            panels.append(letter)
        got[(panels.index(letter), title.replace("&amp;", "&"))] = body.count("<use xlink:href='#gpPt") - 1
    return got


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    runs = [train_lm("lr_high", 12, 3e-3), train_lm("lr_low", 8, 1e-3), train_g2p("g2p_small"), train_budgeted("budget")]
    svg = os.path.join(WORK, "curves.svg")
    heed(["plot"] + runs + ["-o", svg])
    want, got = expected(runs), drawn(svg)
    # Panels of the SVG are the panels with data, in order; all six have data here.
    if got != want:
        sys.exit("curves in the SVG differ from the metrics files:\n  drawn:    %s\n  expected: %s" %
                 (sorted(got.items()), sorted(want.items())))
    lm_curves = [k for k in want if k[1].startswith("lr_")]
    print("svg: %d curves over %d panels match the metrics files (%d points)" %
          (len(got), len(set(k[0] for k in got)), sum(got.values())))
    if len(lm_curves) != 2 * 6 or not any(k[0] == 4 for k in want):
        sys.exit("expected 12 language-model curves and WER/PER curves, got %s" % sorted(want))
    if [k for k in want if k[0] == 5] != [(5, "budget")] or want[(5, "budget")] < 2:
        sys.exit("expected one schedule-progress curve (the time-budgeted run's), got %s" % sorted(want))

    png = os.path.join(WORK, "curves.png")
    heed(["plot"] + runs[:2] + ["-o", png])
    with open(png, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            sys.exit("curves.png is not a PNG")

    # Bad input: one clear error, exit 1, nothing written.
    bad = os.path.join(WORK, "bad")
    os.makedirs(bad)
    open(os.path.join(bad, "metrics.jsonl"), "w").close()
    out = os.path.join(WORK, "never.svg")
    e = heed(["plot", bad, "-o", out], expect=1).stderr
    assert "the metrics file is empty" in e and e.count("error:") == 1, e
    good = open(os.path.join(runs[0], "metrics.jsonl")).read()
    with open(os.path.join(bad, "metrics.jsonl"), "w") as f:
        f.write(good[:len(good) - 20])  # cut inside the last row
    e = heed(["plot", runs[0], bad, "-o", out], expect=1).stderr
    assert "the last line is cut off" in e and ":%d:" % good.count("\n") in e, e
    with open(os.path.join(bad, "metrics.jsonl"), "w") as f:
        f.write(good.replace("\n", "\n{oops\n", 1))
    e = heed(["plot", bad, "-o", out], expect=1).stderr
    assert ":2: not a JSON object" in e, e
    e = heed(["plot", os.path.join(WORK, "missing"), "-o", out], expect=1).stderr
    assert "has no metrics.jsonl" in e, e
    e = heed(["plot", runs[0], "-o", os.path.join(WORK, "x.pdf")], expect=1).stderr
    assert "must end in .svg or .png" in e, e
    assert not os.path.exists(out), "a failed plot left a file"
    print("bad input: empty, truncated, malformed and missing metrics and a bad extension each exit 1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
