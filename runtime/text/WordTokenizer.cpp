//===- WordTokenizer.cpp - whitespace words with <unk> --------------------===//
//
// Ids: 0 <unk>, 1 <eos> (the line end), then the words seen at least MIN times
// in the training data, most frequent first (ties by byte order), so the
// vocabulary is a pure function of the data. Text decodes with single spaces
// between words. Stored form: "heed-words 1\n" then one word per line (a word
// holds no whitespace, so the list needs no escaping).
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Tokenizer.h"

#include "runtime/Error.h"

#include <algorithm>
#include <unordered_map>

namespace heed::rt {

namespace {

constexpr const char *kHeader = "heed-words 1\n";
constexpr int32_t kUnk = 0, kEos = 1;

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/// Calls f(word) for each word and f("\n") at each line end.
template <typename F> void forEachWord(std::string_view text, F &&f) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\n') {
      f(std::string_view("\n"));
      ++i;
    } else if (isSpace(text[i])) {
      ++i;
    } else {
      size_t j = i;
      while (j < text.size() && text[j] != '\n' && !isSpace(text[j])) ++j;
      f(text.substr(i, j - i));
      i = j;
    }
  }
}

class WordTokenizer : public TextTokenizer {
public:
  explicit WordTokenizer(std::vector<std::string> w) : words(std::move(w)) {
    for (size_t i = 0; i < words.size(); ++i) index.emplace(words[i], (int32_t)i);
  }
  std::string kind() const override { return "words"; }
  std::string describe() const override { return "words (" + std::to_string(size()) + " ids, <unk> and <eos> included)"; }
  int64_t size() const override { return (int64_t)words.size(); }
  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    forEachWord(text, [&](std::string_view w) {
      if (w == "\n") {
        ids.push_back(kEos);
        return;
      }
      auto it = index.find(std::string(w));
      ids.push_back(it == index.end() ? kUnk : it->second);
    });
    return ids;
  }
  std::string decode(const std::vector<int32_t> &ids) const override {
    std::string out;
    bool lineStart = true;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= size())
        throw Error("id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                    " is outside the tokenizer's " + std::to_string(size()) + " words");
      if (ids[i] == kEos) {
        out += '\n';
        lineStart = true;
        continue;
      }
      if (!lineStart) out += ' ';
      out += words[(size_t)ids[i]];
      lineStart = false;
    }
    return out;
  }
  std::optional<int32_t> startId() const override { return kEos; }
  /// Sequence-to-sequence symbols: the words, rare ones as <unk>.
  std::vector<std::string> split(std::string_view text) const override {
    std::vector<std::string> out;
    for (int32_t id : encode(text))
      if (id != kEos) out.push_back(words[(size_t)id]);
    return out;
  }
  std::string join(const std::vector<std::string> &pieces) const override {
    std::string out;
    for (const std::string &p : pieces) out += (out.empty() ? "" : " ") + p;
    return out;
  }
  std::string serialize() const override {
    std::string s = kHeader;
    for (size_t i = 2; i < words.size(); ++i) s += words[i] + "\n";
    return s;
  }
  std::string identity() const override { return "words:" + serialize(); }

private:
  std::vector<std::string> words;
  std::unordered_map<std::string, int32_t> index;
};

}  // namespace

std::unique_ptr<TextTokenizer> trainWords(int64_t minCount, const std::string &text, const std::string &trainingFile) {
  std::unordered_map<std::string, int64_t> counts;
  forEachWord(text, [&](std::string_view w) {
    if (w != "\n") ++counts[std::string(w)];
  });
  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto &[w, n] : counts)
    if (n >= minCount && w != "<unk>" && w != "<eos>") kept.emplace_back(w, n);
  std::sort(kept.begin(), kept.end(), [](const auto &a, const auto &b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (kept.empty())
    throw Error("--tokenizer words:" + std::to_string(minCount) + ": no word of data file '" + trainingFile +
                "' is seen " + std::to_string(minCount) + " times or more");
  std::vector<std::string> words = {"<unk>", "<eos>"};
  for (auto &[w, n] : kept) words.push_back(w);
  return std::make_unique<WordTokenizer>(std::move(words));
}

std::unique_ptr<TextTokenizer> loadWords(const std::string &bytes, const std::string &name) {
  if (bytes.rfind(kHeader, 0) != 0) throw Error(name + ": the stored word list does not start with '" +
                                                std::string(kHeader, std::char_traits<char>::length(kHeader) - 1) + "'");
  std::vector<std::string> words = {"<unk>", "<eos>"};
  size_t pos = std::char_traits<char>::length(kHeader);
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) throw Error(name + ": the stored word list is truncated (no final line end)");
    words.push_back(bytes.substr(pos, end - pos));
    pos = end + 1;
  }
  return std::make_unique<WordTokenizer>(std::move(words));
}

}  // namespace heed::rt
