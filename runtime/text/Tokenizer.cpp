//===- Tokenizer.cpp - parsing --tokenizer, bytes and ids -----------------===//

#include "runtime/text/Tokenizer.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/data/ByteDataset.h"

#include <charconv>
#include <filesystem>
#include <optional>

namespace heed::rt {

namespace {

class ByteTokenizer : public TextTokenizer {
public:
  std::string kind() const override { return "bytes"; }
  std::string describe() const override { return "bytes (256 ids)"; }
  int64_t size() const override { return 256; }
  std::vector<int32_t> encode(std::string_view text) const override { return ByteDataset::encode(text); }
  std::string decode(const std::vector<int32_t> &ids) const override { return ByteDataset::decode(ids); }
  std::string serialize() const override { return ""; }
  std::string identity() const override { return "bytes"; }
};

/// Pre-tokenized data: text is whitespace-separated decimal ids.
class IdTokenizer : public TextTokenizer {
public:
  explicit IdTokenizer(int64_t n) : n(n) {}
  std::string kind() const override { return "ids"; }
  std::string describe() const override { return "pre-tokenized ids (" + std::to_string(n) + ")"; }
  int64_t size() const override { return n; }
  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    size_t i = 0;
    while (i < text.size()) {
      if (std::isspace((unsigned char)text[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < text.size() && !std::isspace((unsigned char)text[j])) ++j;
      int64_t v = -1;
      auto [p, ec] = std::from_chars(text.data() + i, text.data() + j, v);
      if (ec != std::errc() || p != text.data() + j || v < 0 || v >= n)
        throw Error("'" + std::string(text.substr(i, j - i)) + "' is not a token id in [0, " + std::to_string(n) +
                    "): a model trained on pre-tokenized data takes its text as ids separated by spaces");
      ids.push_back((int32_t)v);
      i = j;
    }
    return ids;
  }
  std::string decode(const std::vector<int32_t> &ids) const override {
    std::string s;
    for (int32_t id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
    return s;
  }
  std::string serialize() const override { return std::to_string(n); }
  std::string identity() const override { return "ids:" + std::to_string(n); }

private:
  int64_t n;
};

/// The count after `spec`'s colon if it is an integer >= min ("bpe:8000" -> 8000).
std::optional<int64_t> countOf(const std::string &spec, size_t colon, int64_t min) {
  const std::string num = spec.substr(colon + 1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (num.empty() || ec != std::errc() || p != num.data() + num.size() || v < min) return std::nullopt;
  return v;
}

/// The same, throwing naming `where` if the count is missing, not an integer or below min.
int64_t countAfterColon(const std::string &spec, size_t colon, const std::string &where, int64_t min) {
  if (std::optional<int64_t> v = countOf(spec, colon, min)) return *v;
  throw Error(where + ": '" + spec + "' needs an integer >= " + std::to_string(min) + " after the colon (" +
              kTokenizerValues + ")");
}

/// The smallest count a counted spec takes (bpe:N, unigram:N, words:MIN), or 0 if `head` is none.
int64_t minimumCount(const std::string &head) {
  if (head == "bpe" || head == "unigram") return 2;
  return head == "words" ? 1 : 0;
}

bool endsWith(const std::string &s, const std::string &tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::vector<int32_t> TextTokenizer::encodeDocument(std::string_view text) const {
  std::vector<int32_t> ids;
  if (std::optional<int32_t> s = startId()) ids.push_back(*s);
  std::vector<int32_t> body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::unique_ptr<TextTokenizer> makeByteTokenizer() { return std::make_unique<ByteTokenizer>(); }
std::unique_ptr<TextTokenizer> makeIdTokenizer(int64_t size) { return std::make_unique<IdTokenizer>(size); }

bool isTokenizerSpec(const std::string &spec) {
  if (spec == "bytes" || endsWith(spec, ".model")) return true;
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) return false;
  const int64_t min = minimumCount(spec.substr(0, colon));
  return min > 0 && countOf(spec, colon, min).has_value();
}

std::vector<std::string> TextTokenizer::split(std::string_view) const {
  throw Error(describe() + " has no pieces to use as sequence-to-sequence symbols");
}
std::string TextTokenizer::join(const std::vector<std::string> &) const {
  throw Error(describe() + " has no pieces to use as sequence-to-sequence symbols");
}

namespace {

/// Builds a tokenizer from a spec; `text()` reads the training text when one is trained.
template <typename TextFn>
std::unique_ptr<TextTokenizer> build(const std::string &spec, const std::string &where, TextFn &&text,
                                     const std::string &name) {
  if (spec == "bytes") return makeByteTokenizer();
  const size_t colon = spec.find(':');
  const std::string head = colon == std::string::npos ? spec : spec.substr(0, colon);
  if (const int64_t min = minimumCount(head)) {
    const int64_t n = countAfterColon(spec, colon, where, min);
    return head == "words" ? trainWords(n, text(), name) : trainSentencePiece(head, n, text(), name);
  }
  if (endsWith(spec, ".model")) {
    if (!std::filesystem::is_regular_file(spec))
      throw Error(where + ": cannot read SentencePiece model '" + spec + "'");
    return loadSentencePiece(readWholeFile(spec, "SentencePiece model"), spec);
  }
  throw Error(where + " expects " + kTokenizerValues + ", got '" + spec + "'");
}

}  // namespace

std::unique_ptr<TextTokenizer> makeTokenizer(const std::string &spec, const std::string &where,
                                             const std::string &trainingFile) {
  return build(spec, where, [&] { return readTextFile(trainingFile, "data file"); }, trainingFile);
}

std::unique_ptr<TextTokenizer> makeTokenizerFromText(const std::string &spec, const std::string &where,
                                                     const std::string &text, const std::string &name) {
  return build(spec, where, [&] { return text; }, name);
}

std::unique_ptr<TextTokenizer> restoreTokenizer(const std::string &kind, const std::string &bytes,
                                            const std::string &where) {
  if (kind == "bytes") return makeByteTokenizer();
  if (kind == "sentencepiece") return loadSentencePiece(bytes, where);
  if (kind == "words") return loadWords(bytes, where);
  if (kind == "ids") {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(bytes.data(), bytes.data() + bytes.size(), n);
    if (ec != std::errc() || p != bytes.data() + bytes.size() || n < 1)
      throw Error(where + ": its stored id count '" + bytes + "' is not a positive integer");
    return makeIdTokenizer(n);
  }
  throw Error(where + ": unknown tokenizer kind '" + kind + "' (expected bytes, sentencepiece, words or ids)");
}

int64_t countWords(std::string_view text) {
  int64_t words = 0;
  bool inWord = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
    if (!space && !inWord) ++words;
    inWord = !space;
    if (c == '\n') ++words;  // the end of the line
  }
  if (!text.empty() && text.back() != '\n') ++words;
  return words;
}

}  // namespace heed::rt
