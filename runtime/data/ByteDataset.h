//===- ByteDataset.h - byte-level text data ---------------------*- C++ -*-===//
//
// A whole file held in memory as a sequence of byte tokens (ids 0..255): a
// TokenDataset (batches and validation windows: TokenDataset.h) read with the
// byte tokenizer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/data/TokenDataset.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace heed::rt {

class ByteDataset : public TokenDataset {
public:
  /// Loads a file. Throws rt::Error if it is missing, unreadable or empty.
  explicit ByteDataset(const std::string &path);
  /// In-memory data (for tests and generated corpora); `name` is used in errors.
  static ByteDataset fromString(std::string bytes, std::string name = "<memory>");

  /// Ids 0..255 -> bytes; other ids throw.
  static std::string decode(const std::vector<int32_t> &ids);
  /// Bytes -> ids 0..255.
  static std::vector<int32_t> encode(std::string_view text);

private:
  ByteDataset(std::string bytes, std::string name);
};

/// Entropy of the file's byte distribution, in nats per byte (the loss of the
/// best context-free byte model: a useful baseline). Throws if missing or empty.
double unigramEntropyNats(const std::string &path);

}  // namespace heed::rt
