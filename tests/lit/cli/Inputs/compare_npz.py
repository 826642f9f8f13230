"""compare_npz.py A.npz B.npz ARRAY MAX_REL [differ]: prints 'ARRAY ok' when
||A - B|| / ||B|| (normwise, over the whole array) is at most MAX_REL, and, with
`differ`, the arrays are not identical (the precision really changed something);
otherwise prints the numbers."""
import sys

import numpy as np

a, b = (np.load(f)[sys.argv[3]].astype(np.float64) for f in sys.argv[1:3])
rel = np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)
want_differ = len(sys.argv) > 5 and sys.argv[5] == "differ"
ok = a.shape == b.shape and rel <= float(sys.argv[4]) and (not want_differ or rel > 0)
print(f"{sys.argv[3]} ok" if ok else f"{sys.argv[3]}: shapes {a.shape} {b.shape}, normwise relative difference {rel:.3g}")
