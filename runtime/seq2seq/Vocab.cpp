//===- Vocab.cpp - a symbol vocabulary for sequence-to-sequence data ------===//

#include "runtime/seq2seq/Vocab.h"

#include "runtime/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace heed::rt {

namespace {

const std::array<std::string, Vocab::kNumSpecial> &specials() {
  static const std::array<std::string, Vocab::kNumSpecial> s = {"<pad>", "<bos>", "<eos>", "<unk>"};
  return s;
}

bool isSpecialName(const std::string &s) {
  for (const auto &n : specials())
    if (s == n) return true;
  return false;
}

// A printable rendering of a symbol for error messages.
std::string quoted(const std::string &s) {
  std::string out = "'";
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out.push_back((char)c);
  }
  return out + "'";
}

void checkSymbol(const std::string &s, const char *fn) {
  if (s.empty()) throw Error(fmt::format("Vocab::{}: empty symbol", fn));
  if (s.find('\n') != std::string::npos)
    throw Error(fmt::format("Vocab::{}: symbol {} contains a newline", fn, quoted(s)));
}

}  // namespace

const std::string &Vocab::specialName(int32_t id) {
  if (!isSpecial(id)) throw Error(fmt::format("Vocab::specialName: id {} is not a special token", id));
  return specials()[(size_t)id];
}

Vocab::Vocab() {
  for (const auto &s : specials()) add(s);
}

void Vocab::add(const std::string &symbol) {
  index_.emplace(symbol, (int32_t)symbols_.size());
  symbols_.push_back(symbol);
}

Vocab Vocab::build(const std::vector<std::vector<std::string>> &sequences, int64_t minCount,
                   int64_t maxSize) {
  std::unordered_map<std::string, int64_t> counts;
  for (const auto &seq : sequences)
    for (const auto &s : seq) ++counts[s];
  return fromCounts(counts, minCount, maxSize);
}

Vocab Vocab::fromCounts(const std::unordered_map<std::string, int64_t> &counts, int64_t minCount,
                        int64_t maxSize) {
  if (maxSize != 0 && maxSize < kNumSpecial)
    throw Error(fmt::format("Vocab: maxSize must be 0 (no cap) or >= {}, got {}", kNumSpecial, maxSize));
  std::vector<std::pair<std::string, int64_t>> sorted;
  sorted.reserve(counts.size());
  for (const auto &[sym, n] : counts) {
    checkSymbol(sym, "build");
    if (n >= minCount && n > 0 && !isSpecialName(sym)) sorted.emplace_back(sym, n);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  if (maxSize > 0 && (int64_t)sorted.size() > maxSize - kNumSpecial)
    sorted.resize((size_t)(maxSize - kNumSpecial));
  Vocab v;
  for (const auto &p : sorted) v.add(p.first);
  return v;
}

Vocab Vocab::fromSymbols(const std::vector<std::string> &symbols) {
  Vocab v;
  for (const auto &s : symbols) {
    checkSymbol(s, "fromSymbols");
    if (isSpecialName(s))
      throw Error(fmt::format("Vocab::fromSymbols: {} is a special token's name", quoted(s)));
    if (v.contains(s)) throw Error(fmt::format("Vocab::fromSymbols: duplicate symbol {}", quoted(s)));
    v.add(s);
  }
  return v;
}

int32_t Vocab::id(const std::string &symbol) const {
  auto it = index_.find(symbol);
  return it == index_.end() ? UNK : it->second;
}

const std::string &Vocab::symbol(int32_t id) const {
  if (id < 0 || id >= (int32_t)symbols_.size())
    throw Error(fmt::format("Vocab::symbol: id {} out of range [0, {})", id, symbols_.size()));
  return symbols_[(size_t)id];
}

std::vector<int32_t> Vocab::encode(const std::vector<std::string> &symbols, int64_t *unknown) const {
  std::vector<int32_t> ids;
  ids.reserve(symbols.size());
  for (const auto &s : symbols) {
    const int32_t i = id(s);
    if (i == UNK && unknown && s != specials()[UNK]) ++*unknown;
    ids.push_back(i);
  }
  return ids;
}

std::vector<std::string> Vocab::decode(const std::vector<int32_t> &ids, bool skipSpecial) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int32_t i : ids) {
    const std::string &s = symbol(i);
    if (skipSpecial && (i == PAD || i == BOS || i == EOS)) continue;
    out.push_back(s);
  }
  return out;
}

std::string Vocab::serialize() const {
  std::string out;
  for (const auto &s : symbols_) {
    out += s;
    out.push_back('\n');
  }
  return out;
}

Vocab Vocab::deserialize(std::string_view text, const std::string &name) {
  auto fail = [&](int64_t line, const std::string &what) {
    throw Error(fmt::format("vocabulary '{}' line {}: {}", name, line, what));
  };
  if (text.empty()) throw Error(fmt::format("vocabulary '{}' is empty", name));
  if (text.back() != '\n')
    throw Error(fmt::format("vocabulary '{}' does not end with a newline (truncated?)", name));
  Vocab v;
  v.symbols_.clear();
  v.index_.clear();
  size_t pos = 0;
  int64_t line = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    std::string sym(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line;
    if (line <= kNumSpecial) {
      const std::string &want = specials()[(size_t)(line - 1)];
      if (sym != want)
        fail(line, fmt::format("expected the special token '{}', found {}", want, quoted(sym)));
    } else {
      if (sym.empty()) fail(line, "empty symbol");
      if (isSpecialName(sym)) fail(line, fmt::format("special token {} out of place", quoted(sym)));
      auto it = v.index_.find(sym);
      if (it != v.index_.end())
        fail(line, fmt::format("duplicate symbol {} (first on line {})", quoted(sym), it->second + 1));
    }
    v.add(sym);
  }
  if (v.size() < kNumSpecial)
    throw Error(fmt::format("vocabulary '{}' has {} lines; the {} special tokens are missing", name,
                            v.size(), kNumSpecial));
  return v;
}

}  // namespace heed::rt
