//===- Lines.cpp - splitting text files into lines ------------------------===//

#include "runtime/seq2seq/Lines.h"

#include "runtime/AtomicFile.h"

#include <algorithm>

namespace heed::rt {

namespace {
bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
}  // namespace

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl + 1;
  }
  return lines;
}

bool isBlank(std::string_view s) {
  for (char c : s)
    if (!isSpace(c)) return false;
  return true;
}

std::string_view trimWhitespace(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string> readRows(const std::string &path) {
  const std::string text = readTextFile(path, "input file");
  std::vector<std::string> out;
  for (std::string_view line : splitLines(text)) out.emplace_back(trimWhitespace(line));
  return out;
}

std::vector<std::string> readLines(const std::string &path) {
  std::vector<std::string> out = readRows(path);
  out.erase(std::remove(out.begin(), out.end(), std::string()), out.end());
  return out;
}

}  // namespace heed::rt
