//===- TrainSettings.h - the one table of `heed train` settings -*- C++ -*-===//
//
// Every setting of a training run, in one place: its key (the model's
// `train { }` block spells it with underscores, the flag with dashes:
// eval_every / --eval-every), its default and its help. Users:
//
//   * the CLI builds `heed train`'s flags and --help from it;
//   * the frontend rejects `train { }` keys that are not in it (a typo such as
//     `warmpu` is an error with its location, in `heed check` too);
//   * the trainer (runtime/train/Settings.h) takes the plain defaults from it;
//   * docs/LANGUAGE.md section 9 lists the same rows (tests/unit/train checks).
//
// Header-only and free of MLIR, so that the frontend can include it.
// A default in words ("noam: ...") is computed by the trainer (Trainer.cpp);
// `def` is then what the help and the docs show.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <string_view>

namespace heed::rt {

struct TrainSetting {
  const char *key;   // train-block key (underscores)
  const char *type;  // FILE, DIR, NUM, NAME, LENGTHS (the flag's value name)
  const char *def;   // default: a value, or words for a computed one ("" = none)
  const char *help;  // what it does, without the default
  bool seq2seqOnly;
};

inline constexpr TrainSetting kTrainSettings[] = {
    {"data", "FILE", "", "training file: text (tokens from --tokenizer), pre-tokenized ids (.npy int32, llm.c .bin), or source<TAB>target lines for seq2seq models", false},
    {"valid", "FILE", "", "validation file (same format)", false},
    {"out", "DIR", "runs/<model name>", "run directory", false},
    {"steps", "NUM", "1000", "optimizer steps to reach; with schedule_by = time only a bound, none by default", false},
    {"batch", "NUM", "16", "sequences per step; also binds the model's batch dimension", false},
    {"lr", "NUM", "noam: d_model^-0.5 * warmup^-0.5; else 1e-3", "peak learning rate", false},
    {"warmup", "NUM", "min(4000, max(1, steps/10))", "warm-up steps", false},
    {"schedule", "NAME", "noam", "learning-rate schedule: noam | cosine | constant", false},
    {"schedule_by", "NAME", "steps",
     "what the schedule's progress counts: steps (step / steps) or time (the fraction of the --max-minutes "
     "budget used; cosine only; warm-up stays in steps)",
     false},
    {"lr_floor", "NUM", "0.1",
     "cosine: the rate the decay ends at, as a fraction of lr (0 = decay to zero); a resumed run keeps its own",
     false},
    {"optimizer", "NAME", "adam", "adam | adamw | sgd", false},
    {"weight_decay", "NUM", "0.01 for adamw, else 0", "weight decay", false},
    {"clip", "NUM", "1.0", "global gradient-norm clip, 0 = off", false},
    {"seed", "NUM", "1", "initialisation and data-order seed", false},
    {"eval_every", "NUM", "200", "validate every N steps, 0 = only at the end", false},
    {"eval_batches", "NUM", "50", "at most N validation batches", false},
    {"checkpoint_every", "NUM", "eval_every, or 500 if that is 0", "checkpoint every N steps; with schedule_by = time, not in the budget's last keep_checkpoints twentieths, which get one each", false},
    {"keep_checkpoints", "NUM", "3", "keep the newest N checkpoints in the run directory", false},
    {"divergence", "NUM", "2", "stop with an error when a training loss after the warm-up exceeds N x ln(classes), N times the loss of a uniform guess; 0 = off", false},
    {"max_minutes", "NUM", "no limit", "stop (with a checkpoint) after this much wall time", false},
    {"log_every", "NUM", "10", "progress line and metrics row every N steps", false},
    {"micro_batches", "NUM", "1",
     "gradient accumulation: run each step's batch as N slices of batch/N rows, one after another, and sum "
     "their gradients in slice order before one optimizer step (the same step up to rounding; under mpirun -np P "
     "each process runs N slices, and the run equals --micro-batches P*N bit for bit)",
     false},
    {"precision", "NAME", "fp32",
     "matmul precision: fp32, or bf16 (mixed precision: matmul inputs rounded to bfloat16, float32 accumulation "
     "and results; master weights, Adam state and every other op float32; needs a CPU with AVX512_BF16); a "
     "resumed run keeps its own unless given",
     false},
    {"tokenizer", "NAME", "bytes",
     "language models: how text becomes tokens: bytes | bpe:N | unigram:N (a SentencePiece model of N pieces "
     "trained on --data) | FILE.model (an existing SentencePiece model) | words:MIN (words seen >= MIN times, "
     "rarer ones <unk>); stored in the checkpoints",
     false},
    {"src_tokens", "NAME", "chars", "seq2seq: source symbols: chars | space | bytes, or pieces of bpe:N | unigram:N | words:MIN | FILE.model (trained on the sources)", true},
    {"tgt_tokens", "NAME", "space", "seq2seq: target symbols: chars | space | bytes, or pieces of bpe:N | unigram:N | words:MIN | FILE.model (trained on the targets)", true},
    {"eval_words", "NUM", "500", "seq2seq: greedy WER/PER on the first N validation words, 0 = off", true},
    {"decode_every", "NUM", "0",
     "seq2seq: also decode (WER/PER) at validation steps that are multiples of N, 0 = only at the end", true},
    {"buckets", "LENGTHS", "none",
     "seq2seq: length buckets, e.g. \"12 16\": batches of pairs that fit 12 (then 16) are padded to that "
     "length and trained by the model compiled at it",
     true},
};

/// The setting named `key` (underscores), or null.
inline const TrainSetting *findTrainSetting(std::string_view key) {
  for (const TrainSetting &s : kTrainSettings)
    if (key == s.key) return &s;
  return nullptr;
}

/// "eval_every" -> "--eval-every"
inline std::string trainFlagName(std::string_view key) {
  std::string f = "--";
  for (char c : key) f += c == '_' ? '-' : c;
  return f;
}

}  // namespace heed::rt
