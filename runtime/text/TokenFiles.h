//===- TokenFiles.h - pre-tokenized data files ------------------*- C++ -*-===//
//
// Data tokenized elsewhere, read as ids:
//   *.npy   a 1-d int32 array of ids (Npy.h), all >= 0
//   *.bin   llm.c's token files: a header of 256 little-endian int32 (magic
//           20240520, version 1, the token count, the rest unused), then the
//           count's uint16 ids
// Anything else in such a file (wrong magic or version, a count that does not
// match the file's length, negative ids) throws rt::Error naming the file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace heed::rt {

/// True for the names readTokenFile() reads (.npy, .bin).
bool isTokenFile(const std::string &path);
std::vector<int32_t> readTokenFile(const std::string &path);

/// llm.c's .bin format, for tests and tools.
std::string encodeLlmcTokens(const std::vector<uint16_t> &ids);

}  // namespace heed::rt
