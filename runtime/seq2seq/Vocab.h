//===- Vocab.h - a symbol vocabulary for sequence-to-sequence data -*- C++ -*-===//
//
// Maps symbols (strings: a character, a phoneme, a byte, ...) to dense ids and
// back. Four special tokens sit at fixed ids, before every data symbol:
//
//   id 0  PAD  "<pad>"  padding; the model's `pad = 0` (masked keys, ignored loss)
//   id 1  BOS  "<bos>"  begin of sequence: tgt_in = BOS + target
//   id 2  EOS  "<eos>"  end of sequence:   tgt_out = target + EOS
//   id 3  UNK  "<unk>"  any symbol the vocabulary does not know
//
// Data symbols get ids 4, 5, ... in order of descending frequency, ties broken
// by byte-wise lexicographic order, so a vocabulary is a pure function of the
// training data (not of hash-map iteration order or line order). A data symbol
// spelled like a special ("<unk>") is not added: it maps to the special's id.
//
// Serialization (e.g. into checkpoint metadata) is one symbol per line, every
// line terminated by '\n', ids in line order, starting with the four specials:
//
//   <pad>\n<bos>\n<eos>\n<unk>\nAH0\nN\n...
//
// so a symbol may contain any byte except '\n' and may not be empty.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace heed::rt {

class Vocab {
public:
  static constexpr int32_t PAD = 0;
  static constexpr int32_t BOS = 1;
  static constexpr int32_t EOS = 2;
  static constexpr int32_t UNK = 3;
  static constexpr int32_t kNumSpecial = 4;
  /// "<pad>", "<bos>", "<eos>", "<unk>" for ids 0..3.
  static const std::string &specialName(int32_t id);
  static bool isSpecial(int32_t id) { return id >= 0 && id < kNumSpecial; }

  /// Only the four specials.
  Vocab();

  /// Counts every symbol of every sequence, then keeps those seen at least
  /// `minCount` times, most frequent first (ties: lexicographic). If maxSize > 0
  /// the vocabulary (specials included) is capped at maxSize entries (>= 4).
  static Vocab build(const std::vector<std::vector<std::string>> &sequences, int64_t minCount = 1,
                     int64_t maxSize = 0);
  /// Same ordering rule from precomputed counts.
  static Vocab fromCounts(const std::unordered_map<std::string, int64_t> &counts, int64_t minCount = 1,
                          int64_t maxSize = 0);
  /// Specials followed by `symbols` in the given order. Throws rt::Error on an
  /// empty symbol, a symbol containing '\n', a duplicate or a special's name.
  static Vocab fromSymbols(const std::vector<std::string> &symbols);

  /// The symbol's id, or UNK if unknown.
  int32_t id(const std::string &symbol) const;
  bool contains(const std::string &symbol) const { return index_.count(symbol) != 0; }
  /// The id's symbol; throws rt::Error if id is outside [0, size()).
  const std::string &symbol(int32_t id) const;
  /// Number of ids, specials included.
  int64_t size() const { return (int64_t)symbols_.size(); }
  /// All symbols by id (specials first).
  const std::vector<std::string> &symbols() const { return symbols_; }

  /// Symbols -> ids (unknown -> UNK). If `unknown` is given, it is incremented
  /// once per symbol mapped to UNK.
  std::vector<int32_t> encode(const std::vector<std::string> &symbols, int64_t *unknown = nullptr) const;
  /// Ids -> symbols; PAD, BOS and EOS are dropped if skipSpecial (UNK is kept,
  /// as "<unk>"). Out-of-range ids throw.
  std::vector<std::string> decode(const std::vector<int32_t> &ids, bool skipSpecial = true) const;

  /// One symbol per line (see above).
  std::string serialize() const;
  /// Inverse of serialize. Throws rt::Error "vocabulary '<name>' line N: ..." if
  /// the text is empty, lacks the final '\n', does not start with the four
  /// specials in order, or has an empty/duplicate symbol.
  static Vocab deserialize(std::string_view text, const std::string &name = "<memory>");

  bool operator==(const Vocab &o) const { return symbols_ == o.symbols_; }
  bool operator!=(const Vocab &o) const { return !(*this == o); }

private:
  void add(const std::string &symbol);  // no checks
  std::vector<std::string> symbols_;
  std::unordered_map<std::string, int32_t> index_;
};

}  // namespace heed::rt
