"""How far two checkpoints' parameters are apart, per class of tensor (the
name without its layer index: decoder_layer.attention.b_k), as the largest
normwise relative difference max|a - b| / max|a| over the class's tensors
(docs/SCALING.md: Adam and parameters whose exact gradient is zero):
    python3 bench/param_drift.py A.safetensors B.safetensors"""
import array
import json
import re
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    out = {}
    for name, v in header.items():
        # Parameters only (Adam's moments are adam_m/..., adam_v/...).
        if v["dtype"] != "F32" or name.startswith("adam_"):
            continue
        name = name.removeprefix("param/")
        lo, hi = v["data_offsets"]
        out[name] = array.array("f", data[lo:hi])
    return out


a, b = read(sys.argv[1]), read(sys.argv[2])
classes = {}
for name in sorted(set(a) & set(b)):
    x, y = a[name], b[name]
    scale = max(abs(v) for v in x) or 1e-30
    diff = max(abs(p - q) for p, q in zip(x, y))
    cls = re.sub(r"\.\d+\.", ".", name)
    worst = classes.get(cls)
    if worst is None or diff / scale > worst[0]:
        classes[cls] = (diff / scale, name, scale)
width = max(len(c) for c in classes)
print(f"{'tensor class':<{width}}  max rel diff  (tensor, its max |value|)")
for cls, (rel, name, scale) in sorted(classes.items(), key=lambda kv: -kv[1][0]):
    print(f"{cls:<{width}}  {rel:12.3e}  ({name}, {scale:.3g})")
