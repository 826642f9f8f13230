//===- TokenizerStore.h - a run's tokenizer in its checkpoints --*- C++ -*-===//
//
// A checkpoint carries its tokenizer in two metadata strings:
//   heed.tokenizer        its kind (TextTokenizer::kind(): bytes, sentencepiece, words, ids)
//   heed.tokenizer_data   base64 of TextTokenizer::serialize() (the SentencePiece
//                         model proto, the word list, the id count)
// Metadata rather than a tensor: `heed average` copies the metadata of its
// newest input unchanged, and the bytes of a model proto need no dtype of their
// own. A checkpoint without heed.tokenizer (older runs) is a byte-level one.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/text/Tokenizer.h"

#include <map>
#include <memory>
#include <string>

namespace heed::rt {

/// `key`: "heed.tokenizer" for LMs; seq2seq sides use heed.src_tokenizer and
/// heed.tgt_tokenizer (each with its _data).
void storeTokenizer(const TextTokenizer &t, std::map<std::string, std::string> &meta,
                    const std::string &key = "heed.tokenizer");
/// `where` names the checkpoint in errors (a corrupted entry is an rt::Error).
/// Without `key` in the metadata: the byte tokenizer.
std::unique_ptr<TextTokenizer> tokenizerFromMetadata(const std::map<std::string, std::string> &meta,
                                                     const std::string &where,
                                                     const std::string &key = "heed.tokenizer");

std::string base64Encode(const std::string &bytes);
/// Throws rt::Error (naming `what`) on characters outside the alphabet or a bad length.
std::string base64Decode(const std::string &text, const std::string &what);

}  // namespace heed::rt
