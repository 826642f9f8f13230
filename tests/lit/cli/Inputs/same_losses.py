"""Checks that two runs' metrics.jsonl files hold the same steps with the same loss
(and valid_loss, lr, grad_norm) values:
    python3 same_losses.py A/metrics.jsonl B/metrics.jsonl [RELATIVE_TOLERANCE]
Without a tolerance the values must be bit-identical (resume tests); with one
(backend comparisons) they must agree to that relative tolerance."""
import json
import sys


def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


a, b = rows(sys.argv[1]), rows(sys.argv[2])
tol = float(sys.argv[3]) if len(sys.argv) > 3 else None
if [r["step"] for r in a] != [r["step"] for r in b]:
    sys.exit(f"different steps: {[r['step'] for r in a]} vs {[r['step'] for r in b]}")
for ra, rb in zip(a, b):
    for key in ("loss", "valid_loss", "lr", "grad_norm"):
        x, y = ra.get(key), rb.get(key)
        if tol is None or x is None or y is None:
            ok = x == y
        else:
            ok = abs(x - y) <= tol * max(abs(x), abs(y), 1e-12)
        if not ok:
            sys.exit(f"step {ra['step']}: {key} {x!r} != {y!r}")
print(f"{'identical' if tol is None else f'within {tol}'}: {len(a)} rows, steps {a[0]['step']}..{a[-1]['step']}")
