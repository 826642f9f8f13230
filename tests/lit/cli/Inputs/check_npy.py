#!/usr/bin/env python3
"""Prints the dtype and shape of .npy files (parsing the header by hand: no numpy needed)
and checks that the data size matches: `check_npy.py A.npy B.npy ...`."""
import ast
import os
import sys

SIZES = {"<f4": 4, "<i4": 4, "<i8": 8, "|b1": 1}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path + ": bad magic"
    major = data[6]
    if major == 1:
        hlen, start = int.from_bytes(data[8:10], "little"), 10
    else:
        hlen, start = int.from_bytes(data[8:12], "little"), 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    assert (start + hlen) % 64 == 0, path + ": header not 64-byte aligned"
    assert header["fortran_order"] is False
    n = 1
    for d in header["shape"]:
        n *= d
    body = data[start + hlen:]
    assert len(body) == n * SIZES[header["descr"]], path + ": data size mismatch"
    extra = ""
    if header["descr"] == "<i4" and len(header["shape"]) == 1:
        extra = " values " + str([int.from_bytes(body[4 * i:4 * i + 4], "little", signed=True) for i in range(n)])
    if header["descr"] == "|b1":
        rows = header["shape"][0]
        cols = n // rows
        extra = " true per row " + str([sum(body[r * cols:(r + 1) * cols]) for r in range(rows)])
    print(f"{os.path.basename(path)}: {header['descr']} {list(header['shape'])}{extra}")
