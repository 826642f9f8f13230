#!/usr/bin/env python3
"""Generates the op table of docs/ARCHITECTURE.md from the ODS records.

Reads ops/HeedOps.td through `llvm-tblgen --dump-json` (the records as mlir-tblgen
sees them) and writes, between the op-table markers of docs/ARCHITECTURE.md, one
row per op: its operands and results, its attributes, how the compiled backend
lowers it (the lowering interface its record declares), its gradient (a rule or
NoGradient) and its reference kernel (the runtime/kernels function its
ops/ReferenceKernels.cpp binding calls).

  tools/gen_op_table.py --write   rewrite the table in docs/ARCHITECTURE.md
  tools/gen_op_table.py --check   exit 1 (with a diff) if the checked-in table differs
"""
import argparse
import difflib
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TBLGEN = os.environ.get("LLVM_TBLGEN", "/usr/lib/llvm-19/bin/llvm-tblgen")
BEGIN = "<!-- op-table:begin (generated from ops/HeedOps.td by tools/gen_op_table.py --write; do not edit) -->"
END = "<!-- op-table:end -->"

TYPE_NAMES = {
    "Heed_F32Tensor": "f32",
    "Heed_IdTensor": "i32",
    "Heed_MaskTensor": "bool",
    "Heed_F32Scalar": "f32 scalar",
    "AnyRankedTensor": "any",
}


def records(td):
    out = subprocess.run(
        [TBLGEN, "--dump-json", "-I", os.path.join(ROOT, "ops"), "-I", ROOT,
         "-I", "/usr/lib/llvm-19/include", td],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def supers(recs, name):
    return recs[name].get("!superclasses", []) if name in recs else []


def value_type(recs, arg_def):
    """'f32', '[bool]' (optional), 'f32...' (variadic), or None for an attribute."""
    name = arg_def["def"]
    sc = supers(recs, name)
    if "Attr" in sc:
        return None
    if "Optional" in sc:
        return "[" + value_type(recs, recs[name]["baseType"]) + "]"
    if "Variadic" in sc:
        return value_type(recs, recs[name]["baseType"]) + "..."
    if name in TYPE_NAMES:
        return TYPE_NAMES[name]
    if "RankedTensorOf" in sc or "TensorOf" in sc:
        return "f32 or i32"
    return name


def values(recs, dag):
    vals, attrs = [], []
    for arg_def, arg_name in dag["args"] if dag else []:
        t = value_type(recs, arg_def)
        if t is None:
            attrs.append(arg_name)
        elif t.startswith("["):
            vals.append("[" + arg_name + ": " + t[1:-1] + "]")
        else:
            vals.append(arg_name + ": " + t)
    return vals, attrs


def interfaces(recs, op):
    """Interface names and native trait names of the op's record."""
    names = set()
    for t in recs[op].get("traits", []):
        r = recs[t["def"]]
        if r.get("cppInterfaceName"):
            names.add(r["cppInterfaceName"])
        if r.get("trait"):
            names.add(r["trait"].split("::")[0])
        for sub in r.get("traits", []) or []:  # trait lists (Pure)
            names.add(sub["def"])
    return names


def overrides(recs, op, iface):
    for t in recs[op].get("traits", []):
        r = recs[t["def"]]
        if r.get("cppInterfaceName") == iface and r.get("alwaysOverriddenMethods"):
            return r["alwaysOverriddenMethods"]
    return []


def lowering(recs, op, names):
    if "Layer" in names:
        return "decomposed (heed-decompose)"
    kinds = []
    if "ScalarBodyInterface" in names:
        kinds.append("elementwise (scalar body)")
    if "ReductionInterface" in names:
        kinds.append("reduction")
    if "Layout" in names:
        kinds.append("layout")
    if "LibraryCallInterface" in names:
        lib = "library `" + recs[op]["opName"] + "`"
        if overrides(recs, op, "LibraryCallInterface"):
            lib += " where it prefers it (`prefersLibrary`)"
        kinds.insert(0, lib)
    return ", else ".join(kinds) if kinds else "NONE"


def reference_kernels(src):
    """Op class -> 'ref::name, ...' from the bindings in ops/ReferenceKernels.cpp."""
    macros = {}
    for m in re.finditer(r"#define (HEED_\w+)\(OP, KIND\)((?:.*\\\n)*.*)", src):
        macros[m.group(1)] = sorted(set(re.findall(r"ref::(\w+)\(", m.group(2))))
    kernels = {}
    for m in re.finditer(r"^(HEED_\w+)\((\w+), (\w+)\)$", src, re.M):
        kernels[m.group(2)] = ", ".join("`ref::%s` (%s)" % (f, m.group(3)) for f in macros.get(m.group(1), []))
    for m in re.finditer(r"^void (\w+)::evaluate\(.*?^}$", src, re.S | re.M):
        fns = []
        for f in re.findall(r"ref::(\w+)\(", m.group(0)):
            if f not in fns:
                fns.append(f)
        kernels[m.group(1)] = ", ".join("`ref::%s`" % f for f in fns) if fns else "inline (ops/ReferenceKernels.cpp)"
    return kernels


def cell(s):
    return s.replace("|", "\\|")


def table():
    recs = records(os.path.join(ROOT, "ops", "HeedOps.td"))
    with open(os.path.join(ROOT, "ops", "ReferenceKernels.cpp")) as f:
        kernels = reference_kernels(f.read())
    ops = sorted((r for r in recs["!instanceof"]["Op"]), key=lambda n: recs[n]["opName"])
    prims, layers = [], []
    for op in ops:
        rec = recs[op]
        names = interfaces(recs, op)
        ins, attrs = values(recs, rec.get("arguments"))
        outs, _ = values(recs, rec.get("results"))
        row = ["`" + rec["opName"] + "`", ", ".join(ins) + " -> " + (", ".join(outs) or "()"),
               ", ".join(attrs), lowering(recs, op, names)]
        if "Layer" in names:
            layers.append(row + [cell(rec.get("summary", ""))])
            continue
        grad = "rule" if "GradientInterface" in names else "none (NoGradient)" if "NoGradient" in names else "MISSING"
        row += [grad, kernels.get(op, "MISSING"), cell(rec.get("summary", ""))]
        prims.append(row)
    lines = ["| op | operands -> results | attributes | lowering | gradient | reference kernel | summary |",
             "|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in prims]
    lines += ["", "Layer ops (rewritten into primitives by `heed-decompose`; parameters are `heed.param` "
              "results passed in as operands):", "",
              "| op | operands -> results | attributes | lowering | summary |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in layers]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", action="store_true")
    g.add_argument("--check", action="store_true")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "ARCHITECTURE.md"))
    a = ap.parse_args()
    with open(a.doc) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        print("error: %s has no op-table markers (%s ... %s)" % (a.doc, BEGIN, END), file=sys.stderr)
        return 1
    head, rest = doc.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    new = "\n" + table()
    if "MISSING" in new or "| NONE |" in new:
        print("error: an op of ops/HeedOps.td has no lowering, gradient or reference kernel "
              "(MISSING/NONE in the generated table)", file=sys.stderr)
        return 1
    if a.check:
        if old == new:
            return 0
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                   "docs/ARCHITECTURE.md (checked in)", "generated"))
        sys.stdout.flush()
        print("error: the op table in docs/ARCHITECTURE.md differs from ops/HeedOps.td; "
              "run tools/gen_op_table.py --write", file=sys.stderr)
        return 1
    tmp = a.doc + ".tmp"
    with open(tmp, "w") as f:
        f.write(head + BEGIN + new + END + tail)
    os.replace(tmp, a.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
