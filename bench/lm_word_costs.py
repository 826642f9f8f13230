#!/usr/bin/env python3
"""Where a language model's word-level perplexity goes, by how often each word was
seen in training (docs/brown_lm.md, "Where the BPE model's perplexity goes").

    heed export RUN --to pytorch -o EXPORT
    /usr/bin/python3 bench/lm_word_costs.py EXPORT TRAIN.txt VALID.txt [--min-count 4]
        [--target 220.5] [--expect-loss NATS] [--json]

Runs the exported PyTorch module (Debian's python3-torch, not heed) over VALID.txt in
exactly the windows `heed eval` scores (non-overlapping windows of seq tokens, then the
last seq + 1 tokens for the tail, every token after the first scored once), sums each
word's negative log-likelihood over its pieces, and splits the total by the word's count
in TRAIN.txt: words seen at least --min-count times (the vocabulary of `--tokenizer
words:MIN` and of the n-gram reference's `<unk>` cut), rarer ones, never seen ones, and
the line ends. Words are whitespace words plus one end-of-line per line, as `heed eval`'s
ppl_word counts them.

--expect-loss (heed eval's `loss`, nats per token) makes the script fail unless its own
total agrees with heed's to 1e-4 relative: the word-level number heed reports is then
reproduced by PyTorch. --target reports how much the rare words could cost for the whole
to reach that word-level perplexity with the frequent words and line ends as they are, and
how much the frequent words could cost with the rare words and line ends as they are.
"""
import argparse
import collections
import json
import math
import os
import sys


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("export", help="directory written by heed export --to pytorch (of a checkpoint)")
    p.add_argument("train", help="the training text (word counts)")
    p.add_argument("valid", help="the text to score")
    p.add_argument("--min-count", type=int, default=4, help="frequent = seen at least this often (default 4)")
    p.add_argument("--target", type=float, default=0, help="a word-level perplexity to budget the rare words for")
    p.add_argument("--expect-loss", type=float, default=None, help="heed eval's loss (nats/token) to agree with")
    p.add_argument("--batch", type=int, default=64, help="windows per forward pass (default 64)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args()


def text_lines(text):
    """The lines heed's tokenizers see: a trailing newline ends the last line."""
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def words_of_tokens(tok, ids, text):
    """For heed's ids of `text` (ids[0] the start token), the index of the word each id
    belongs to (-1 for the start token) and the words: each line's whitespace words, then
    its line end (None)."""
    if tok.kind == "sentencepiece":
        eos = tok._eos
        # SentencePiece splits at whitespace: a piece that starts with U+2581 (its space
        # mark) starts the line's next word.
        starts = lambda i: tok._sp.id_to_piece(i).startswith("\u2581")
    elif tok.kind == "words":
        eos, starts = 1, lambda i: True
    else:
        sys.exit(f"lm_word_costs: a {tok.kind} tokenizer has no word boundaries to sum over "
                 "(use a sentencepiece or words run)")
    lines = [line.split() for line in text_lines(text)]
    word_of, words, line, pos = [-1], [], 0, 0
    for i in ids[1:]:
        if i == eos:
            if pos != len(lines[line]):
                sys.exit(f"lm_word_costs: line {line + 1}: {pos} word starts in its pieces, "
                         f"{len(lines[line])} whitespace words")
            words.append(None)
            line, pos = line + 1, 0
        elif pos == 0 or starts(i):
            if pos == len(lines[line]):
                sys.exit(f"lm_word_costs: line {line + 1}: more word starts than its {pos} whitespace words")
            words.append(lines[line][pos])
            pos += 1
        word_of.append(len(words) - 1)
    return word_of, words


def token_nlls(model, torch, ids, seq, batch):
    """Per target position t (1..len-1): -log p(ids[t] | its window), in heed eval's windows."""
    n = len(ids) - 1
    windows = n // seq
    rows = [(w * seq, 0) for w in range(windows)]
    if n % seq:
        start = len(ids) - 1 - seq
        rows.append((start, windows * seq - start))
    nll = [None] * (n + 1)
    name = tokens_input(model)
    with torch.no_grad():
        for b in range(0, len(rows), batch):
            chunk = rows[b:b + batch]
            tok = torch.tensor([ids[s:s + seq] for s, _ in chunk], dtype=torch.int32)
            tgt = torch.tensor([ids[s + 1:s + seq + 1] for s, _ in chunk], dtype=torch.long)
            out = model.forward(**{name: tok})
            logp = torch.log_softmax(out["logits"].double(), dim=-1)
            picked = logp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
            for (s, first), row in zip(chunk, picked.tolist()):
                for t in range(first, seq):
                    nll[s + t + 1] = -row[t]
    return nll


def tokens_input(module):
    """The input that holds the tokens: the int32 one the logits need (the targets are
    LOSS_INPUTS: the forward pass then skips the loss)."""
    mod = sys.modules[type(module).__module__]
    names = [n for n, spec in mod.INPUTS.items() if spec["dtype"] == "int32" and n not in mod.LOSS_INPUTS]
    if len(names) != 1 or "logits" not in mod.OUTPUTS:
        sys.exit(f"lm_word_costs: expected a language model with one token input and a 'logits' output, "
                 f"got inputs {list(mod.INPUTS)}, outputs {mod.OUTPUTS}")
    return names[0]


def main():
    a = parse_args()
    if a.min_count < 2:
        sys.exit(f"lm_word_costs: --min-count must be >= 2 (words seen fewer times are the rare ones), got {a.min_count}")
    for path in (a.train, a.valid):
        if not os.path.isfile(path):
            sys.exit(f"lm_word_costs: no such file: {path}")
    if not os.path.isfile(os.path.join(a.export, "model.py")):
        sys.exit(f"lm_word_costs: {a.export} holds no model.py: give a directory written by heed export --to pytorch")
    sys.path.insert(0, os.path.abspath(a.export))
    import torch
    import model as exported
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    m = exported.load(a.export)
    if m.tokenizer is None:
        sys.exit("lm_word_costs: the export has no tokenizer: export a trained checkpoint, not a model file")
    seq = exported.INPUTS[tokens_input(m)]["shape"][1]

    valid = open(a.valid, encoding="utf-8", errors="surrogateescape").read()
    ids = [m.tokenizer.start_id] + m.tokenizer.encode(valid)
    word_of, words = words_of_tokens(m.tokenizer, ids, valid)
    nll = token_nlls(m, torch, ids, seq, a.batch)

    counts = collections.Counter(w for line in text_lines(open(a.train, encoding="utf-8").read()) for w in line.split())
    per_word = [0.0] * len(words)
    for t in range(1, len(ids)):
        per_word[word_of[t]] += nll[t]

    def klass(w):
        if w is None:
            return "line end"
        c = counts.get(w, 0)
        return f"seen >= {a.min_count}" if c >= a.min_count else (f"seen 1-{a.min_count - 1}" if c else "never seen")

    groups = collections.OrderedDict((k, [0, 0.0]) for k in
                                     (f"seen >= {a.min_count}", "line end", f"seen 1-{a.min_count - 1}", "never seen"))
    for w, cost in zip(words, per_word):
        g = groups[klass(w)]
        g[0] += 1
        g[1] += cost
    total_nll, n_words, n_tokens = sum(per_word), len(words), len(ids) - 1
    loss = total_nll / n_tokens
    result = {"tokens": n_tokens, "words": n_words, "loss": loss, "ppl_word": math.exp(total_nll / n_words),
              "groups": {k: {"words": c, "nats": s, "nats_per_word": s / c if c else 0.0} for k, (c, s) in groups.items()}}
    frequent = groups[f"seen >= {a.min_count}"][1] + groups["line end"][1]
    rare_n = groups[f"seen 1-{a.min_count - 1}"][0] + groups["never seen"][0]
    rare_nll = total_nll - frequent
    result["ppl_word_if_rare_words_were_free"] = math.exp(frequent / n_words)
    if a.target > 0 and rare_n:
        result["target"] = a.target
        result["rare_nats_per_word_allowed"] = (n_words * math.log(a.target) - frequent) / rare_n
        result["rare_nats_per_word"] = rare_nll / rare_n
        freq_n = groups[f"seen >= {a.min_count}"][0]
        result["frequent_nats_per_word_allowed"] = (n_words * math.log(a.target) - rare_nll - groups["line end"][1]) / freq_n
        result["frequent_nats_per_word"] = groups[f"seen >= {a.min_count}"][1] / freq_n

    if a.json:
        print(json.dumps(result))
    else:
        print(f"{n_words} words ({n_tokens} tokens), {loss:.4f} nats/token, word-level perplexity {result['ppl_word']:.1f}")
        print(f"{'words':<14} {'count':>8} {'share':>7} {'nats/word':>10} {'share of NLL':>13}")
        for k, (c, s) in groups.items():
            print(f"{k:<14} {c:>8} {100 * c / n_words:>6.2f}% {s / c if c else 0:>10.3f} {100 * s / total_nll:>12.1f}%")
        print(f"word-level perplexity if the rare words cost nothing: {result['ppl_word_if_rare_words_were_free']:.1f}")
        if "target" in result:
            print(f"to reach {a.target:g} with the frequent words as they are, the rare words may cost "
                  f"{result['rare_nats_per_word_allowed']:.2f} nats each; they cost {result['rare_nats_per_word']:.2f}")
            print(f"with the rare words and line ends as they are, the frequent words may cost "
                  f"{result['frequent_nats_per_word_allowed']:.2f} nats each; they cost {result['frequent_nats_per_word']:.2f}")
    if a.expect_loss is not None:
        rel = abs(loss - a.expect_loss) / abs(a.expect_loss)
        if rel > 1e-4:
            print(f"FAIL: PyTorch's loss {loss:.6f} nats/token differs from heed's {a.expect_loss:.6f} (relative {rel:.2e})")
            return 1
        print(f"ok: PyTorch's loss {loss:.6f} agrees with heed eval's {a.expect_loss:.6f} (relative {rel:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
