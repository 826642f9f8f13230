"""Checks that every param/ tensor of AVG is the mean of those in the inputs
(f32 safetensors, read without numpy) and that the other tensors are the last
input's. Prints one summary line."""
import json
import struct
import sys
from array import array


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        tensors[name] = array("f", data[a:b])
    return tensors, meta


avg, meta = load(sys.argv[1])
inputs = [load(p)[0] for p in sys.argv[2:]]
worst, params = 0.0, 0
for name, t in avg.items():
    if name.startswith("param/"):
        params += 1
        for i, v in enumerate(t):
            want = sum(x[name][i] for x in inputs) / len(inputs)
            worst = max(worst, abs(v - want) / max(1.0, abs(want)))
    else:
        assert t == inputs[-1][name], name
assert worst < 1e-6, worst
print(f"mean of {len(inputs)}: {params} parameters, averaged from {meta['heed.averaged']}")
