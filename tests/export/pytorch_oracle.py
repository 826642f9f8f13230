#!/usr/bin/python3
"""PyTorch as the oracle of `heed export --to pytorch`.

For every example model (at small --set sizes) and every op form of the language
(the tiny per-op models of tests/unit/compiled/OpParityTest.cpp, read from that file),
on one random batch:

  * `heed forward --grads` gives heed's outputs, loss and parameter gradients;
  * `heed export --to pytorch` writes model.py + model.safetensors, which Debian's
    PyTorch loads (eval mode: dropout off, as heed forward runs);
  * the export is made at batch 3; every case also runs at batch 5 on the same export
    (model.py writes the sizes that follow the batch in terms of it);
  * PyTorch's outputs and loss must equal heed's within 1e-5 and PyTorch autograd's
    gradients (mapped back through names.json) heed's within 1e-4, relative to
    max(1, max |heed value|); every trainable parameter must have both.

A negative control swaps two same-shaped exported parameters of tiny_lm and checks
that the comparison then fails, so a wrong name mapping cannot pass.

usage: pytorch_oracle.py HEED EXAMPLES_DIR OP_PARITY_TEST_CPP WORK_DIR
"""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zlib

import numpy as np
import torch

HEED, EXAMPLES, OP_CASES_CPP, WORK = sys.argv[1:5]
OUT_TOL, GRAD_TOL = 1e-5, 1e-4
# Small sizes for whichever of these keys a model's config has.
SMALL = {"layers": 1, "d_model": 16, "heads": 2, "d_ff": 32, "seq": 8, "src_len": 7, "tgt_len": 6}
BATCH = 3
ID_LIMIT = 8  # every vocabulary of the examples and op models is >= 8

failures = []


def run(args):
    p = subprocess.run([HEED] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("heed %s failed (%d):\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p.stdout


def config_keys(path):
    text = open(path).read()
    keys = set()
    for block in re.findall(r"config\s*\{([^}]*)\}", text):
        keys.update(re.findall(r"(\w+)\s*=", block))
    return keys


def random_inputs(spec, rng):
    arrays = {}
    for t in spec["inputs"]:
        shape = t["shape"]
        if t["dtype"] == "i32":
            arrays[t["name"]] = rng.integers(0, ID_LIMIT, size=shape).astype(np.int32)
        elif t["dtype"] == "bool":
            arrays[t["name"]] = rng.random(shape) < 0.3
        else:
            arrays[t["name"]] = rng.standard_normal(shape).astype(np.float32)
    return arrays


def load_export(directory, tag):
    spec = importlib.util.spec_from_file_location("exported_" + tag, os.path.join(directory, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.abs(a - b).max() / max(1.0, np.abs(b).max()))


def compare(tag, model_path, sets, backend, corrupt=None, spec_model=None, batch=BATCH):
    """Returns the list of mismatches (empty when PyTorch agrees with heed) and the worst
    errors. `spec_model`: the model file to read the inputs from when model_path is a
    checkpoint (its --set values are stored in it)."""
    rng = np.random.default_rng(zlib.crc32(tag.encode()))  # stable across runs
    d = os.path.join(WORK, tag)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    set_args = sum((["--set", "%s=%s" % kv] for kv in sets.items()), [])
    spec = json.loads(run(["check", spec_model[0] if spec_model else model_path, "--json", "--batch", str(batch)] +
                          (spec_model[1] if spec_model else set_args)))
    inputs = random_inputs(spec, rng)
    np.savez(os.path.join(d, "in.npz"), **inputs)
    run(["forward", model_path, "--inputs", os.path.join(d, "in.npz"), "-o", os.path.join(d, "out.npz"),
         "--grads", "--backend", backend] + set_args)
    heed = dict(np.load(os.path.join(d, "out.npz")))
    run(["export", model_path, "--to", "pytorch", "-o", os.path.join(d, "export"), "--batch", str(BATCH)] + set_args)

    module = load_export(os.path.join(d, "export"), tag)
    model = module.load(os.path.join(d, "export"))
    if corrupt:
        corrupt(model)
    out = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
    bad = []
    worst = {"out": 0.0, "grad": 0.0}
    for t in spec["outputs"]:
        e = error(out[t["name"]].detach().numpy(), heed[t["name"]])
        worst["out"] = max(worst["out"], e)
        if e > OUT_TOL:
            bad.append("output %s differs by %.3g" % (t["name"], e))
    if spec["loss"]:
        if "loss" not in out or "loss" not in heed:
            bad.append("loss missing (pytorch: %s, heed: %s)" % ("loss" in out, "loss" in heed))
            return bad, worst
        e = error(out["loss"].detach().numpy(), heed["loss"])
        worst["out"] = max(worst["out"], e)
        if e > OUT_TOL:
            bad.append("loss differs by %.3g (pytorch %.7g, heed %.7g)" % (e, float(out["loss"]), float(heed["loss"])))
        model.zero_grad()
        out["loss"].backward()
        names = json.load(open(os.path.join(d, "export", "names.json")))
        for n in names:
            p = model.get_parameter(n["pytorch"])
            key = "grad/" + n["heed"]
            if n["frozen"]:
                if key in heed or p.grad is not None:
                    bad.append("frozen %s got a gradient" % n["heed"])
                continue
            if key not in heed or p.grad is None:
                bad.append("gradient of %s missing (heed: %s, pytorch: %s)" % (n["heed"], key in heed, p.grad is not None))
                continue
            g = heed[key].T if n["transposed"] else heed[key]
            e = error(p.grad.numpy(), g)
            worst["grad"] = max(worst["grad"], e)
            if e > GRAD_TOL:
                bad.append("gradient of %s (%s) differs by %.3g" % (n["heed"], n["pytorch"], e))
        extra = set(k for k in heed if k.startswith("grad/")) - set("grad/" + n["heed"] for n in names)
        if extra:
            bad.append("heed gradients with no exported parameter: %s" % sorted(extra))
    return bad, worst


def check(tag, model_path, sets, backend, spec_model=None, batch=BATCH):
    worst = None
    try:
        bad, worst = compare(tag, model_path, sets, backend, spec_model=spec_model, batch=batch)
    except Exception as e:  # a heed or PyTorch error fails this case, not the whole run
        bad = ["%s: %s" % (type(e).__name__, e)]
    status = ("ok (outputs/loss %.1e, gradients %.1e)" % (worst["out"], worst["grad"])) if not bad else \
        "FAIL: " + "; ".join(bad)
    print("%-28s %s" % (tag, status), flush=True)
    if bad:
        failures.append(tag)


def op_cases():
    text = open(OP_CASES_CPP).read()
    body = text[text.index("const OpCase kCases[] = {"):]
    body = body[:body.index("};")]
    s = r'"((?:[^"\\]|\\.)*)"'
    cases = re.findall(r"\{" + s + r",\s*" + s + r"(?:,\s*" + s + r")?\}", body)
    if len(cases) < 40:
        raise SystemExit("read only %d op cases from %s" % (len(cases), OP_CASES_CPP))
    return cases


def op_model(name, expr, loss):
    # The template of OpParityTest.cpp's modelSource().
    src = ("model op_%s\ninput x : f32[batch, 6, 8]\ninput ids : i32[batch, 6]\nh = linear(x, out: 8)\n"
           "y = %s\n" % (name, expr))
    if loss:
        src += "loss = %s\n" % loss
    else:
        src += "flat = reshape(y, [-1])\nloss = mean(flat * flat) + mean(reshape(h, [-1]))\n"
    return src + "output y\nminimize loss\n"


def main():
    os.makedirs(WORK, exist_ok=True)
    torch.manual_seed(0)
    examples = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".heed"))
    if not examples:
        raise SystemExit("no examples in " + EXAMPLES)
    for f in examples:
        path = os.path.join(EXAMPLES, f)
        keys = config_keys(path)
        check("example_" + f[:-5], path, {k: v for k, v in SMALL.items() if k in keys}, "compiled")
        # model.py runs at other batches than the export's (heed forward compiles at the arrays' batch).
        check("example_%s_batch5" % f[:-5], path, {k: v for k, v in SMALL.items() if k in keys}, "compiled", batch=5)

    op_dir = os.path.join(WORK, "op_models")
    os.makedirs(op_dir, exist_ok=True)
    for name, expr, loss in op_cases():
        path = os.path.join(op_dir, "op_%s.heed" % name)
        with open(path, "w") as f:
            f.write(op_model(name, expr, loss))
        check("op_" + name, path, {}, "reference")
        check("op_%s_batch5" % name, path, {}, "reference", batch=5)

    # A frozen parameter: requires_grad False in PyTorch, no gradient from heed.
    path = os.path.join(op_dir, "frozen_embedding.heed")
    with open(path, "w") as f:
        f.write(op_model("frozen_embedding", "embedding(ids, vocab: 8, dim: 8, frozen: true) * h", None))
    check("frozen_embedding", path, {}, "reference")

    # Negative control: two swapped parameters of the same shape must be caught.
    def swap(model):
        a = model.get_parameter("decoder_layer.0.attention.q_proj.weight")
        b = model.get_parameter("decoder_layer.0.attention.k_proj.weight")
        with torch.no_grad():
            t = a.clone()
            a.copy_(b)
            b.copy_(t)
    tiny = os.path.join(EXAMPLES, "tiny_lm.heed")
    bad = compare("control_swapped_q_k", tiny, {k: v for k, v in SMALL.items() if k in config_keys(tiny)},
                  "reference", corrupt=swap)[0]
    print("%-28s %s" % ("control_swapped_q_k", "caught: " + bad[0] if bad else "NOT CAUGHT"))
    if not bad:
        failures.append("control_swapped_q_k")

    # An encoder-decoder's encode entry gives the memory that forward (checked by PyTorch) gives ...
    translate = os.path.join(EXAMPLES, "translate.heed")
    if os.path.exists(translate):
        d = os.path.join(WORK, "example_translate")
        run(["forward", translate, "--entry", "encode", "--inputs", os.path.join(d, "in.npz"), "-o",
             os.path.join(d, "enc.npz")] + sum((["--set", "%s=%s" % (k, v)] for k, v in SMALL.items()
                                                if k in config_keys(translate)), []))
        mem = np.load(os.path.join(d, "enc.npz"))["memory"]
        full = np.load(os.path.join(d, "out.npz"))
        e = error(mem, full["memory"])
        # ... and decode, fed that memory, the same logits.
        dec_in = dict(np.load(os.path.join(d, "in.npz")))
        dec_in["memory"] = mem
        np.savez(os.path.join(d, "dec_in.npz"), **dec_in)
        run(["forward", translate, "--entry", "decode", "--inputs", os.path.join(d, "dec_in.npz"), "-o",
             os.path.join(d, "dec.npz")] + sum((["--set", "%s=%s" % (k, v)] for k, v in SMALL.items()
                                                if k in config_keys(translate)), []))
        e = max(e, error(np.load(os.path.join(d, "dec.npz"))["logits"], full["logits"]))
        print("%-28s %s" % ("translate_encode_decode", "ok" if e <= OUT_TOL else "FAIL: differs by %.3g" % e))
        if e > OUT_TOL:
            failures.append("translate_encode_decode")

    # The exporter's list of names PyTorch cannot give a submodule is this torch's.
    src = os.path.join(os.path.dirname(OP_CASES_CPP), "..", "..", "..", "compiler", "export", "PyTorchExport.cpp")
    text = open(src).read()
    listed = set(re.findall(r'"(\w+)"', text[text.index("kModuleAttributes = {"):text.index("};", text.index("kModuleAttributes"))]))
    actual = set(n for n in dir(torch.nn.Module()) if not n.startswith("_"))
    ok = listed == actual
    print("%-28s %s" % ("module_attribute_names", "ok" if ok else "FAIL: only listed %s, only in torch %s" %
                        (sorted(listed - actual), sorted(actual - listed))))
    if not ok:
        failures.append("module_attribute_names")

    # A checkpoint: its stored model and --set values, its trained parameters.
    run_dir = os.path.join(WORK, "tiny_run")
    shutil.rmtree(run_dir, ignore_errors=True)
    small = sum((["--set", "%s=%s" % (k, v)] for k, v in SMALL.items() if k in config_keys(tiny)), [])
    run(["train", tiny, "--data", os.path.join(EXAMPLES, "data", "moby-dick", "moby_dick.valid.txt"), "--steps", "6",
         "--batch", str(BATCH), "--eval-every", "0", "--out", run_dir, "-q"] + small)
    check("checkpoint_tiny_lm", run_dir, {}, "compiled", spec_model=(tiny, small))
    if "checkpoint_tiny_lm" not in failures:
        # The export holds the trained values, not a fresh initialisation.
        d = os.path.join(WORK, "checkpoint_tiny_lm")
        run(["export", run_dir, "--to", "numpy", "-o", os.path.join(d, "params.npz")])
        ours = np.load(os.path.join(d, "params.npz"))
        module = load_export(os.path.join(d, "export"), "checkpoint_again")
        ckpt = module.read_safetensors(os.path.join(run_dir, open(os.path.join(run_dir, "latest")).read().strip()))
        fresh = dict(np.load(os.path.join(WORK, "example_tiny_lm", "out.npz")))
        same = all(np.array_equal(ours[n], ckpt["param/" + n].numpy()) for n in ours.files)
        names = set("param/" + n for n in ours.files) == set(k for k in ckpt if k.startswith("param/"))
        moved = not np.array_equal(ours["linear.w"], module.read_safetensors(
            os.path.join(WORK, "example_tiny_lm", "export", "model.safetensors"))["linear.weight"].numpy().T)
        ok = same and names and moved
        print("%-28s %s" % ("checkpoint_numpy_export", "ok" if ok else "FAIL: same=%s names=%s trained=%s" %
                            (same, names, moved)))
        if not ok:
            failures.append("checkpoint_numpy_export")

    if failures:
        print("%d case(s) failed: %s" % (len(failures), ", ".join(failures)))
        return 1
    print("PyTorch agrees with heed on %d examples and %d op forms" % (len(examples), len(op_cases())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
