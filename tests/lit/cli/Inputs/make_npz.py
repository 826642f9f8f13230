"""Writes the .npz inputs of forward_export.test into the directory argv[1] (numpy's own writer)."""
import os
import sys

import numpy as np

d = sys.argv[1]
r = np.random.default_rng(0)
ids = lambda shape: r.integers(0, 256, shape)
np.savez(os.path.join(d, "ok.npz"), tokens=ids((2, 8)).astype(np.int32), targets=ids((2, 8)).astype(np.int32))
np.savez(os.path.join(d, "tokens_i64.npz"), tokens=ids((2, 8)))  # numpy's default int64
np.savez(os.path.join(d, "batch5.npz"), tokens=ids((5, 8)), targets=ids((5, 8)))
np.savez(os.path.join(d, "shape.npz"), tokens=ids((2, 9)))
np.savez(os.path.join(d, "float.npz"), tokens=r.random((2, 8)).astype(np.float32))
np.savez(os.path.join(d, "extra.npz"), tokens=ids((2, 8)), memory=np.zeros(3))
np.savez(os.path.join(d, "range.npz"), tokens=np.full((2, 8), 300))
np.savez(os.path.join(d, "batches.npz"), tokens=ids((2, 8)), targets=ids((3, 8)))
np.savez_compressed(os.path.join(d, "compressed.npz"), tokens=ids((2, 8)))
