"""Checks that two checkpoints hold bit-identical tensors and the same metadata,
apart from the fields that record how the step was split and where it was written:
    python3 same_checkpoint.py A.safetensors B.safetensors"""
import json
import struct
import sys

# How the step was split (heed.micro_batches, heed.world_size) and the run
# directory's name are not part of the training state.
IGNORED = {"heed.micro_batches", "heed.world_size"}


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items()}
    return meta, tensors


(ma, ta), (mb, tb) = read(sys.argv[1]), read(sys.argv[2])
if sorted(ta) != sorted(tb):
    sys.exit(f"different tensors: {sorted(set(ta) ^ set(tb))}")
for k in ta:
    if ta[k] != tb[k]:
        sys.exit(f"tensor {k} differs")
keys = (set(ma) | set(mb)) - IGNORED
diff = sorted(k for k in keys if ma.get(k) != mb.get(k))
if diff:
    sys.exit("different metadata: " + ", ".join(f"{k}: {ma.get(k)!r} vs {mb.get(k)!r}" for k in diff))
print(f"identical: {len(ta)} tensors, metadata equal but for {sorted((set(ma) | set(mb)) & IGNORED)}")
