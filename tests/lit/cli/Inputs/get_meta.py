"""get_meta.py FILE KEY...: prints KEY=VALUE for each __metadata__ entry of a safetensors file
(KEY=<absent> when it has none)."""
import json
import struct
import sys

data = open(sys.argv[1], "rb").read(1 << 24)
(n,) = struct.unpack("<Q", data[:8])
meta = json.loads(data[8:8 + n]).get("__metadata__", {})
for k in sys.argv[2:]:
    print(f"{k}={meta.get(k, '<absent>')}")
