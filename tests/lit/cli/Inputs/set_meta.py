"""set_meta.py IN OUT KEY=VALUE...: copies a safetensors file with __metadata__
entries replaced (a value of '-' deletes the key), for tests of damaged metadata."""
import json
import struct
import sys

data = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + n])
meta = header.setdefault("__metadata__", {})
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    if v == "-":
        meta.pop(k, None)
    else:
        meta[k] = v
text = json.dumps(header, separators=(",", ":"))
text += " " * ((8 - len(text) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text.encode() + data[8 + n:])
