"""Checks that two runs' metrics.jsonl files hold the same steps with bit-identical
loss (and valid_loss, lr) values: python3 same_losses.py A/metrics.jsonl B/metrics.jsonl"""
import json
import sys


def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


a, b = rows(sys.argv[1]), rows(sys.argv[2])
if [r["step"] for r in a] != [r["step"] for r in b]:
    sys.exit(f"different steps: {[r['step'] for r in a]} vs {[r['step'] for r in b]}")
for ra, rb in zip(a, b):
    for key in ("loss", "valid_loss", "lr", "grad_norm"):
        if ra.get(key) != rb.get(key):
            sys.exit(f"step {ra['step']}: {key} {ra.get(key)!r} != {rb.get(key)!r}")
print(f"identical: {len(a)} rows, steps {a[0]['step']}..{a[-1]['step']}")
