//===- TokenFiles.cpp - pre-tokenized data files --------------------------===//

#include "runtime/text/TokenFiles.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/Npy.h"

#include <cstring>

namespace heed::rt {

namespace {

constexpr int32_t kMagic = 20240520, kVersion = 1;
constexpr size_t kHeaderInts = 256;

bool endsWith(const std::string &s, const char *tail) {
  const size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

int32_t le32(const std::string &b, size_t i) {
  const unsigned char *p = reinterpret_cast<const unsigned char *>(b.data()) + 4 * i;
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

std::vector<int32_t> readLlmc(const std::string &path) {
  const std::string b = readWholeFile(path, "token file");
  const std::string what = "token file '" + path + "'";
  if (b.size() < 4 * kHeaderInts)
    throw Error(what + " has " + std::to_string(b.size()) + " bytes, less than llm.c's 1024-byte header");
  if (le32(b, 0) != kMagic)
    throw Error(what + ": magic " + std::to_string(le32(b, 0)) + " is not llm.c's " + std::to_string(kMagic) +
                " (not an llm.c .bin token file?)");
  if (le32(b, 1) != kVersion)
    throw Error(what + ": version " + std::to_string(le32(b, 1)) + " (heed reads version 1: uint16 ids)");
  const int64_t n = le32(b, 2);
  const int64_t have = (int64_t)(b.size() - 4 * kHeaderInts) / 2;
  if (n < 0 || (b.size() - 4 * kHeaderInts) % 2 != 0 || have != n)
    throw Error(what + ": its header says " + std::to_string(n) + " tokens but the file holds " +
                std::to_string(have) + (have < n ? " (truncated?)" : ""));
  std::vector<int32_t> ids((size_t)n);
  const unsigned char *p = reinterpret_cast<const unsigned char *>(b.data()) + 4 * kHeaderInts;
  for (int64_t i = 0; i < n; ++i) ids[(size_t)i] = (int32_t)((uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8);
  return ids;
}

}  // namespace

bool isTokenFile(const std::string &path) { return endsWith(path, ".npy") || endsWith(path, ".bin"); }

std::vector<int32_t> readTokenFile(const std::string &path) {
  if (endsWith(path, ".bin")) return readLlmc(path);
  Tensor t = readNpy(path);
  if (t.dtype() != DType::I32 || t.shape().size() != 1)
    throw Error("token file '" + path + "' holds " + std::string(dtypeName(t.dtype())) + shapeToString(t.shape()) +
                "; pre-tokenized data is a 1-d int32 array of ids");
  std::vector<int32_t> ids(t.i32(), t.i32() + t.size());
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0)
      throw Error("token file '" + path + "': id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                  " is negative");
  return ids;
}

std::string encodeLlmcTokens(const std::vector<uint16_t> &ids) {
  std::string b(4 * kHeaderInts + 2 * ids.size(), '\0');
  auto put32 = [&](size_t i, int32_t v) {
    for (int k = 0; k < 4; ++k) b[4 * i + k] = (char)(((uint32_t)v >> (8 * k)) & 0xff);
  };
  put32(0, kMagic);
  put32(1, kVersion);
  put32(2, (int32_t)ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    b[4 * kHeaderInts + 2 * i] = (char)(ids[i] & 0xff);
    b[4 * kHeaderInts + 2 * i + 1] = (char)(ids[i] >> 8);
  }
  return b;
}

}  // namespace heed::rt
