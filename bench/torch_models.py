#!/usr/bin/python3
"""PyTorch references of heed's benchmark models, timed the same way as
heed_bench_step: ms per training step (forward, backward, Adam), median after
warm-up, fp32, torch.set_num_threads(2); dropout 0 unless --dropout P; also the
median process CPU time per step (steadier on a shared machine).

usage: torch_models.py tiny|small|g2p [--steps N] [--dropout P] [--autocast]
--dropout P puts dropout where the heed models have it (the embedding sum of
tiny_lm, every residual branch of both) and nowhere else: PyTorch's own
attention-weight and feed-forward-activation dropouts stay off.
The models mirror examples/tiny_lm.heed (pre-LN decoder, embedding * sqrt(d),
sinusoidal positions, label smoothing 0.1) and examples/translate.heed (the
paper's post-LN encoder-decoder with padding and causal masks).
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoidal(length, dim):
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    i = torch.arange(0, dim, 2, dtype=torch.float32)
    angle = pos / torch.pow(10000.0, i / dim)
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


class DecoderLayer(nn.Module):
    def __init__(self, d, h, ff, p):
        super().__init__()
        self.drop1, self.drop2 = nn.Dropout(p), nn.Dropout(p)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.att = nn.MultiheadAttention(d, h, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d))

    def forward(self, x, mask):
        y = self.ln1(x)
        x = x + self.drop1(self.att(y, y, y, attn_mask=mask, need_weights=False)[0])
        return x + self.drop2(self.ff(self.ln2(x)))


class TinyLM(nn.Module):
    def __init__(self, vocab, d, layers, h, ff, seq, p):
        super().__init__()
        self.d = d
        self.drop = nn.Dropout(p)
        self.emb = nn.Embedding(vocab, d)
        self.register_buffer("pe", sinusoidal(seq, d))
        self.register_buffer("mask", torch.triu(torch.ones(seq, seq, dtype=torch.bool), 1))
        self.layers = nn.ModuleList(DecoderLayer(d, h, ff, p) for _ in range(layers))
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, vocab)

    def loss(self, tokens, targets):
        x = self.drop(self.emb(tokens) * math.sqrt(self.d) + self.pe)
        for layer in self.layers:
            x = layer(x, self.mask)
        logits = self.out(self.ln(x))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                               label_smoothing=0.1)


class Seq2Seq(nn.Module):
    """The paper's post-LN encoder-decoder, as examples/translate.heed."""

    def __init__(self, src_vocab, tgt_vocab, d, h, ff, layers, src_len, tgt_len, p):
        super().__init__()
        self.src_emb, self.tgt_emb = nn.Embedding(src_vocab, d), nn.Embedding(tgt_vocab, d)
        self.register_buffer("src_pe", sinusoidal(src_len, d))
        self.register_buffer("tgt_pe", sinusoidal(tgt_len, d))
        self.register_buffer("causal", torch.triu(torch.ones(tgt_len, tgt_len, dtype=torch.bool), 1))
        self.enc = nn.ModuleList(nn.TransformerEncoderLayer(d, h, ff, p, batch_first=True)
                                 for _ in range(layers))
        self.dec = nn.ModuleList(nn.TransformerDecoderLayer(d, h, ff, p, batch_first=True)
                                 for _ in range(layers))
        # heed's layers drop only the residual branches (dropout1/2/3 here)
        for layer in [*self.enc, *self.dec]:
            layer.dropout = nn.Identity()
            for att in (getattr(layer, "self_attn", None), getattr(layer, "multihead_attn", None)):
                if att is not None:
                    att.dropout = 0.0
        self.out = nn.Linear(d, tgt_vocab)

    def loss(self, src, tgt_in, tgt_out):
        pad = src == 0
        x = self.src_emb(src) + self.src_pe
        for layer in self.enc:
            x = layer(x, src_key_padding_mask=pad)
        y = self.tgt_emb(tgt_in) + self.tgt_pe
        for layer in self.dec:
            y = layer(y, x, tgt_mask=self.causal, memory_key_padding_mask=pad)
        logits = self.out(y)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1),
                               label_smoothing=0.1, ignore_index=0)


CONFIGS = {
    "tiny": dict(kind="lm", vocab=256, d=128, layers=4, h=4, ff=512, seq=128, batch=16),
    "small": dict(kind="lm", vocab=4096, d=256, layers=6, h=8, ff=1024, seq=256, batch=8),
    "g2p": dict(kind="s2s", vocab=64, d=128, layers=3, h=4, ff=512, seq=24, batch=64),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config", choices=CONFIGS)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--autocast", action="store_true",
                    help='bf16 mixed precision: the forward under torch.autocast("cpu", dtype=torch.bfloat16)')
    args = ap.parse_args()
    c = CONFIGS[args.config]
    torch.manual_seed(0)
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(1)
    if c["kind"] == "lm":
        model = TinyLM(c["vocab"], c["d"], c["layers"], c["h"], c["ff"], c["seq"], args.dropout)
        inputs = [torch.randint(0, c["vocab"], (c["batch"], c["seq"]), generator=g) for _ in range(2)]
        tokens = inputs[0].numel()
    else:
        model = Seq2Seq(c["vocab"], c["vocab"], c["d"], c["h"], c["ff"], c["layers"], c["seq"], c["seq"], args.dropout)
        inputs = [torch.randint(1, c["vocab"], (c["batch"], c["seq"]), generator=g) for _ in range(3)]
        tokens = inputs[2].numel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    times, cpu = [], []  # wall and process CPU (all threads) time per step
    for step in range(args.steps + 2):
        t, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
            loss = model.loss(*inputs)
        loss.backward()
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c0)
    times.sort()
    cpu.sort()
    ms = times[len(times) // 2] * 1000
    print(f"pytorch{'-bf16' if args.autocast else ''}   {torch.__version__}  {ms:.1f} ms/step  {tokens / (ms / 1000):.0f} tok/s"
          f"  [cpu {cpu[len(cpu) // 2] * 1000:.1f} ms per step]")


if __name__ == "__main__":
    main()
