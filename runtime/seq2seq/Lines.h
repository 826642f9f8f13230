//===- Lines.h - splitting text files into lines ----------------*- C++ -*-===//
//
// Line handling shared by the seq2seq data loaders and `heed generate --input`:
// lines end at '\n'; a '\r' right before it (CRLF files) is dropped; a last
// line without '\n' still counts; the empty remainder after a final '\n' does not.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace heed::rt {

/// The lines of `text` (views into it), CR stripped as described above. Line i
/// of the result is line i + 1 of the file (blank lines are kept).
std::vector<std::string_view> splitLines(std::string_view text);

/// True if s is empty or only spaces, tabs, '\r', '\v' and '\f'.
bool isBlank(std::string_view s);

/// s without leading and trailing whitespace (as in isBlank).
std::string_view trimWhitespace(std::string_view s);

/// One item per line: every line of the file with surrounding whitespace
/// trimmed, blank lines dropped. A missing or unreadable file throws rt::Error
/// ("cannot read input file '<path>': ..."); an empty file gives an empty vector.
std::vector<std::string> readLines(const std::string &path);

/// One row per line, e.g. the words of `heed generate --input words.txt`: as
/// readLines, but a blank line is kept as an empty row, so that output row i
/// belongs to input line i + 1.
std::vector<std::string> readRows(const std::string &path);

}  // namespace heed::rt
