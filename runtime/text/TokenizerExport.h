//===- TokenizerExport.h - a run's tokenizer as files for other tools -*- C++ -*-===//
//
// `heed export` of a checkpoint writes the run's tokenizer beside the weights,
// so the exported model reads and writes text exactly as heed does:
//
//   tokenizer.json    every kind: {"kind", "size", "start_id", "files"}
//   tokenizer.model   a SentencePiece tokenizer: its model proto, as trained or
//                     given (sentencepiece.SentencePieceProcessor loads it)
//   tokenizer.words   a word tokenizer: "heed-words 1", then one word per line
//                     for ids 2.. (0 is <unk>, 1 the line end <eos>); bytes, not
//                     text, since a word may hold any byte but whitespace
//
// Bytes and pre-tokenized ids need no file beyond tokenizer.json.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/text/Tokenizer.h"

#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

/// (file name, bytes) for each file above that `t` needs, tokenizer.json first.
std::vector<std::pair<std::string, std::string>> tokenizerExportFiles(const TextTokenizer &t);

}  // namespace heed::rt
