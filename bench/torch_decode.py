#!/usr/bin/env python3
"""PyTorch's side of the decode benchmark (docs/BENCHMARKS.md, "Incremental decoding"):
examples/tiny_lm.heed's shape (pre-LN, d_model 128, 4 heads, 4 layers, d_ff 512, relu,
sinusoidal positions, vocab 256, seq 128), random weights, greedy, batch 1, NEW tokens
after a 1-byte prompt, with a key/value cache and without (the whole prefix per token).
Prints tokens/s for both.   python3 bench/torch_decode.py [NEW] (default 127), 2 threads."""
import math, sys, time
import torch

torch.set_num_threads(2)
torch.manual_seed(0)
V, D, H, L, F, S = 256, 128, 4, 4, 512, 128
dh = D // H
new = int(sys.argv[1]) if len(sys.argv) > 1 else 127

def p(*shape): return torch.randn(*shape) * 0.05
emb = p(V, D)
layers = [dict(ln1=(torch.ones(D), torch.zeros(D)), wq=p(D, D), wk=p(D, D), wv=p(D, D), wo=p(D, D),
               ln2=(torch.ones(D), torch.zeros(D)), w1=p(D, F), w2=p(F, D)) for _ in range(L)]
lnf = (torch.ones(D), torch.zeros(D)); wout = p(D, V)
pos = torch.arange(S).unsqueeze(1); i2 = torch.arange(0, D, 2)
pe = torch.zeros(S, D); pe[:, 0::2] = torch.sin(pos / 10000 ** (i2 / D)); pe[:, 1::2] = torch.cos(pos / 10000 ** (i2 / D))

def ln(x, g): return torch.nn.functional.layer_norm(x, (D,), g[0], g[1])

def run(tokens, start, cache):
    """tokens [T] at positions start..; cache: per layer [k, v] ([H, t, dh]) or None."""
    T = tokens.shape[0]
    x = emb[tokens] * math.sqrt(D) + pe[start:start + T]
    for li, l in enumerate(layers):
        h = ln(x, l["ln1"])
        q, k, v = [(h @ w).view(T, H, dh).transpose(0, 1) for w in (l["wq"], l["wk"], l["wv"])]
        if cache is not None:
            if cache[li] is not None:
                k = torch.cat([cache[li][0], k], 1); v = torch.cat([cache[li][1], v], 1)
            cache[li] = (k, v)
        s = (q @ k.transpose(1, 2)) / math.sqrt(dh)  # torch 1.13 has no fused sdpa
        if T > 1: s = s.masked_fill(torch.ones(T, k.shape[1], dtype=torch.bool).triu(k.shape[1] - T + 1), float("-inf"))
        a = torch.softmax(s, -1) @ v
        x = x + a.transpose(0, 1).reshape(T, D) @ l["wo"]
        x = x + torch.relu(ln(x, l["ln2"]) @ l["w1"]) @ l["w2"]
    return ln(x[-1], lnf) @ wout

def generate(cached):
    seq = [65]
    cache = [None] * L if cached else None
    with torch.no_grad():
        logits = run(torch.tensor(seq), 0, cache)
        for _ in range(new):
            seq.append(int(logits.argmax()))
            logits = run(torch.tensor(seq[-1:]), len(seq) - 1, cache) if cached else run(torch.tensor(seq), 0, None)
    return seq

for name, cached in (("kv-cache", True), ("no-cache", False)):
    generate(cached)  # warm-up
    t = time.perf_counter(); out = generate(cached); dt = time.perf_counter() - t
    print(f"torch {name}: {new} tokens in {dt:.3f} s, {new / dt:.0f} tokens/s")
assert generate(True) == generate(False), "cached and uncached tokens differ"
