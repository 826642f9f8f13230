#!/usr/bin/python3
"""`heed export` of a trained language model's tokenizer, checked against heed's own.

For each tokenizer kind (bytes, SentencePiece BPE and unigram trained on the data,
words with <unk>, pre-tokenized llm.c ids) a tiny tiny_lm is trained two steps, exported
with --to pytorch, and model.py's load(DIR).tokenizer must give, on real text (part of
Moby-Dick) and on awkward text (blank lines, tabs, CR LF, leading spaces, non-ASCII, no
final line end), exactly the ids heed's tokenizer gives (heed_tokenize_ids prints them)
and decode them back to exactly heed's decoding. A damaged tokenizer in the checkpoint
and a model file (no tokenizer yet) are checked too.

usage: tokenizer_export.py HEED TOKENIZE_IDS EXAMPLES_DIR WORK_DIR
"""
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys

HEED, TOKENIZE, EXAMPLES, WORK = sys.argv[1:5]
DATA = os.path.join(EXAMPLES, "data", "moby-dick", "moby_dick.valid.txt")
SMALL = ["--set", "d_model=32", "--set", "layers=1", "--set", "heads=2", "--set", "seq=16",
         "--set", "d_ff=64", "--steps", "2", "--batch", "2", "--warmup", "1", "--eval-every", "0",
         "--eval-batches", "1"]
failures = []


def run(args, ok=True):
    p = subprocess.run(args, capture_output=True)
    if ok and p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(args), p.returncode, p.stdout.decode(),
                                                      p.stderr.decode()))
    return p


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
texts = {
    "moby": open(DATA, "rb").read()[:6000],
    "awkward": "  leading spaces\n\n\ttabs\tbetween  words\r\nUnicodé — “quoted” 東京 whale\n\nno final line end"
               .encode("utf-8"),
}
ids_bin = os.path.join(WORK, "ids.bin")
ids = [(i * 7) % 50 for i in range(3000)]
with open(ids_bin, "wb") as f:
    f.write(struct.pack("<256i", *([20240520, 1, len(ids)] + [0] * 253)) + struct.pack("<%dH" % len(ids), *ids))

cases = [  # name, flags, data, expected files
    ("bytes", ["--set", "vocab=256"], DATA, ["tokenizer.json"]),
    ("bpe", ["--set", "vocab=300", "--tokenizer", "bpe:300"], DATA, ["tokenizer.json", "tokenizer.model"]),
    ("unigram", ["--set", "vocab=300", "--tokenizer", "unigram:300"], DATA, ["tokenizer.json", "tokenizer.model"]),
    ("words", ["--set", "vocab=3000", "--tokenizer", "words:2"], DATA, ["tokenizer.json", "tokenizer.words"]),
    ("ids", ["--set", "vocab=64"], ids_bin, ["tokenizer.json"]),
]
for name, flags, data, files in cases:
    run_dir, out = os.path.join(WORK, name), os.path.join(WORK, name + ".export")
    run([HEED, "train", os.path.join(EXAMPLES, "tiny_lm.heed")] + SMALL + flags +
        ["--data", data, "--valid", data, "--out", run_dir])
    printed = run([HEED, "export", run_dir, "--to", "pytorch", "-o", out]).stdout.decode()
    for f in files:
        check(os.path.exists(os.path.join(out, f)), "%s: export wrote %s" % (name, f))
        check(f in printed, "%s: export names %s in its summary" % (name, f))
    spec = importlib.util.spec_from_file_location("model_" + name, os.path.join(out, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tok = module.load(out).tokenizer
    check(tok is not None and tok.kind == json.load(open(os.path.join(out, "tokenizer.json")))["kind"],
          "%s: load() attaches the tokenizer" % name)
    samples = {"ids": " ".join(str(i) for i in ids[:200]).encode() + b"\n3 4\n"} if name == "ids" else texts
    for label, text in samples.items():
        path = os.path.join(WORK, "%s.%s.txt" % (name, label))
        open(path, "wb").write(text)
        decoded_path = path + ".decoded"
        heed_ids = [int(t) for t in run([TOKENIZE, run_dir, path, decoded_path]).stdout.split()]
        py_body = tok.encode(text)
        py_ids = ([tok.start_id] if tok.start_id is not None else []) + py_body
        check(py_ids == heed_ids, "%s/%s: Python ids equal heed's (%d vs %d ids%s)" % (
            name, label, len(py_ids), len(heed_ids),
            "" if py_ids == heed_ids else ", first difference at %d" % next(
                (i for i, (a, b) in enumerate(zip(py_ids, heed_ids)) if a != b), min(len(py_ids), len(heed_ids)))))
        heed_decoded = open(decoded_path, "rb").read()
        check(tok.decode(py_body).encode("utf-8", "surrogateescape") == heed_decoded,
              "%s/%s: Python decoding equals heed's" % (name, label))
    print("ok: %s (%d ids)" % (name, tok.size))

# A model file has no tokenizer until it is trained: model.tokenizer is None.
plain = os.path.join(WORK, "plain.export")
run([HEED, "export", os.path.join(EXAMPLES, "tiny_lm.heed"), "--set", "layers=1", "--to", "pytorch", "-o", plain])
check(not os.path.exists(os.path.join(plain, "tokenizer.json")), "a model file's export has no tokenizer.json")

# A damaged stored tokenizer: one error line, exit 1, nothing written.
ckpt = os.path.join(WORK, "bpe", "ckpt-2.safetensors")
raw = open(ckpt, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
header["__metadata__"]["heed.tokenizer_data"] = "AAAA" + header["__metadata__"]["heed.tokenizer_data"][40:]
text = json.dumps(header, separators=(",", ":"))
text += " " * ((8 - len(text) % 8) % 8)
damaged = os.path.join(WORK, "damaged.safetensors")
open(damaged, "wb").write(struct.pack("<Q", len(text)) + text.encode() + raw[8 + n:])
bad_out = os.path.join(WORK, "damaged.export")
p = run([HEED, "export", damaged, "--to", "pytorch", "-o", bad_out], ok=False)
err = p.stderr.decode()
check(p.returncode == 1 and err.startswith("error: ") and err.count("\n") == 1,
      "a damaged tokenizer is one error and exit 1 (got %d: %r)" % (p.returncode, err))
check(not os.path.exists(bad_out), "nothing is written for a damaged tokenizer")

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("all tokenizer exports match heed")
