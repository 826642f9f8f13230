//===- PyTorchPrelude.cpp - the fixed part of a generated model.py --------===//
//
// The layer classes and helpers every exported model.py starts with. Each one
// computes what heed's decomposition of the layer computes (compiler/passes/
// Decompose.cpp), in the same order, so the two agree to float rounding.
//
//===----------------------------------------------------------------------===//

namespace heed {

extern const char *const kPyTorchPrelude = R"PY(
import json
import math
import os
import re
import struct

import torch
from torch import nn
import torch.nn.functional as F


def read_safetensors(path):
    """The tensors of a .safetensors file, by name (standard library and torch only)."""
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64,
              "BOOL": torch.bool}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[body + begin:body + end])
        t = torch.frombuffer(raw, dtype=dtypes[info["dtype"]]) if raw else torch.empty(0, dtype=dtypes[info["dtype"]])
        out[name] = t.reshape(info["shape"])
    return out


class Tokenizer:
    """The run's tokenizer, as heed uses it (tokenizer.json; a SentencePiece one reads
    tokenizer.model with python3-sentencepiece, a word one tokenizer.words).
    encode(text) gives heed's ids, a line end ("\\n") being the line-end token where the
    kind has one; decode(ids) is its inverse. A training document starts with start_id."""

    _SPACE = re.compile(rb"[ \t\r\f\v]+")

    def __init__(self, directory):
        with open(os.path.join(directory, "tokenizer.json")) as f:
            info = json.load(f)
        self.kind, self.size, self.start_id = info["kind"], info["size"], info["start_id"]
        if self.kind == "sentencepiece":
            import sentencepiece  # Debian: python3-sentencepiece
            self._sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(directory, "tokenizer.model"))
            self._eos = self._sp.eos_id()
        elif self.kind == "words":
            with open(os.path.join(directory, "tokenizer.words"), "rb") as f:
                lines = f.read().split(b"\n")
            if lines[0] != b"heed-words 1":
                raise ValueError("tokenizer.words does not start with 'heed-words 1'")
            self._words = [b"<unk>", b"<eos>"] + lines[1:-1]
            self._index = {w: i for i, w in enumerate(self._words)}
        elif self.kind not in ("bytes", "ids"):
            raise ValueError("unknown tokenizer kind %r" % self.kind)

    def encode(self, text):
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)
        if self.kind == "bytes":
            return list(data)
        if self.kind == "ids":
            return [int(t) for t in data.split()]
        ids = []
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            if self.kind == "sentencepiece":
                if line:
                    ids += self._sp.encode(line.decode("utf-8", "surrogateescape"))
            else:
                ids += [self._index.get(w, 0) for w in self._SPACE.split(line) if w]
            if i + 1 < len(lines):
                ids.append(self._eos if self.kind == "sentencepiece" else 1)
        return ids

    def decode(self, ids):
        ids = [int(i) for i in ids]
        for i in ids:
            if not 0 <= i < self.size:
                raise ValueError("id %d is outside the tokenizer's %d ids" % (i, self.size))
        if self.kind == "bytes":
            return bytes(ids).decode("utf-8", "surrogateescape")
        if self.kind == "ids":
            return " ".join(str(i) for i in ids)
        if self.kind == "words":
            lines, line = [], []
            for i in ids:
                if i == 1:
                    lines.append(b" ".join(line))
                    line = []
                else:
                    line.append(self._words[i])
            lines.append(b" ".join(line))
            return b"\n".join(lines).decode("utf-8", "surrogateescape")
        lines, line = [], []
        for i in ids:
            if i == self._eos:
                lines.append(self._sp.decode(line) if line else "")
                line = []
            else:
                line.append(i)
        lines.append(self._sp.decode(line) if line else "")
        return "\n".join(lines)


def _f32(v):
    return torch.tensor(v, dtype=torch.float32)


def _sinusoidal(length, dim):
    """heed's sinusoidal table: PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(...), in double."""
    freq = [math.pow(10000.0, -(2 * i) / dim) for i in range((dim + 1) // 2)]
    rows = []
    for p in range(length):
        row = []
        for i, f in enumerate(freq):
            row.append(math.sin(p * f))
            if 2 * i + 1 < dim:
                row.append(math.cos(p * f))
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64).to(torch.float32).reshape(length, dim)


def _cross_entropy(logits, targets, smoothing, ignore):
    """heed.cross_entropy: PyTorch's label smoothing and ignore_index, mean over the kept
    positions; 0 (not NaN) when every position is ignored."""
    t = targets.reshape(-1).long()
    flat = logits.reshape(-1, logits.shape[-1])
    if ignore >= 0 and bool((t == ignore).all()):
        return flat.sum() * 0.0
    return F.cross_entropy(flat, t, ignore_index=ignore if ignore >= 0 else -100, label_smoothing=smoothing)


def _put(root, path, module):
    """Registers `module` at dot-path `path`, creating empty parent modules."""
    parts = path.split(".")
    node = root
    for p in parts[:-1]:
        if p not in node._modules:
            node.add_module(p, nn.Module())
        node = node._modules[p]
    node.add_module(parts[-1], module)


class FeedForward(nn.Module):
    """heed.feed_forward: linear, relu or gelu (exact erf form), linear."""

    def __init__(self, d_in, hidden, d_out, act):
        super().__init__()
        self.linear1 = nn.Linear(d_in, hidden)
        self.linear2 = nn.Linear(hidden, d_out)
        self.act = act

    def forward(self, x):
        h = self.linear1(x)
        h = F.gelu(h) if self.act == "gelu" else F.relu(h)
        return self.linear2(h)


class Attention(nn.Module):
    """heed.attention: multi-head scaled dot-product attention with projections; masked
    scores become -1e9 (not -inf), key_padding is true at padded keys."""

    def __init__(self, d_model, heads, causal):
        super().__init__()
        self.heads = heads
        self.causal = causal
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.o_proj = nn.Linear(d_model, d_model)

    def forward(self, q_in, kv_in, key_padding=None):
        b, tq, d = q_in.shape
        tk = kv_in.shape[1]
        h = self.heads
        dh = d // h
        q = self.q_proj(q_in).reshape(b, tq, h, dh).permute(0, 2, 1, 3)
        k = self.k_proj(kv_in).reshape(b, tk, h, dh).permute(0, 2, 1, 3)
        v = self.v_proj(kv_in).reshape(b, tk, h, dh).permute(0, 2, 1, 3)
        s = torch.matmul(q, k.permute(0, 1, 3, 2)) * (_f32(1.0) / torch.sqrt(_f32(float(dh))))
        if self.causal:
            s = torch.where(torch.ones(tq, tk, dtype=torch.bool).triu(1), _f32(-1e9), s)
        if key_padding is not None:
            s = torch.where(key_padding.reshape(b, 1, 1, tk), _f32(-1e9), s)
        o = torch.matmul(torch.softmax(s, dim=-1), v)
        return self.o_proj(o.permute(0, 2, 1, 3).reshape(b, tq, d))


class Table(nn.Module):
    """A learned table used whole (heed's learned positional_encoding)."""

    def __init__(self, rows, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(rows, dim))

    def forward(self):
        return self.weight


def _as_inputs(given, spec, export_batch, batch_fixed):
    """Checks the names, shapes and dtypes of the arrays given to forward(); dimensions
    named batch may take any size (the same in every input) unless batch_fixed.
    Returns the tensors and the batch."""
    out = {}
    batch = None
    for name, value in given.items():
        if name not in spec:
            raise TypeError("%s is not an input of %s (inputs: %s)" % (name, MODEL, ", ".join(spec)))
        t = torch.as_tensor(value)
        want = spec[name]
        ok = t.dim() == len(want["shape"])
        for i in range(t.dim() if ok else 0):
            if want["dims"][i] == "batch" and not batch_fixed:
                batch = t.shape[i] if batch is None else batch
                ok = ok and t.shape[i] == batch
            else:
                ok = ok and t.shape[i] == want["shape"][i]
        if not ok:
            shape = ["batch" if d == "batch" and not batch_fixed else s for s, d in zip(want["shape"], want["dims"])]
            raise ValueError("input %s has shape %s, the model takes %s%s" % (
                name, list(t.shape), shape, "" if batch is None else " with batch %d" % batch))
        out[name] = t.to(getattr(torch, want["dtype"]))
    return out, export_batch if batch is None else batch
)PY";

}  // namespace heed
