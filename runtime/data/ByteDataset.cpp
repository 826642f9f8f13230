//===- ByteDataset.cpp - byte-level text data -----------------------------===//

#include "runtime/data/ByteDataset.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

namespace heed::rt {

ByteDataset::ByteDataset(std::string bytes, std::string name)
    : TokenDataset(encode(bytes), std::move(name)) {
  setUnit("bytes");
}

ByteDataset::ByteDataset(const std::string &path) : ByteDataset(readTextFile(path, "data file"), path) {}

ByteDataset ByteDataset::fromString(std::string bytes, std::string name) {
  return ByteDataset(std::move(bytes), std::move(name));
}

std::string ByteDataset::decode(const std::vector<int32_t> &ids) {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] > 255)
      throw Error(fmt::format("id {} at position {} is not a byte (0..255)", ids[i], i));
    out.push_back((char)(unsigned char)ids[i]);
  }
  return out;
}

std::vector<int32_t> ByteDataset::encode(std::string_view text) {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (char c : text) ids.push_back((int32_t)(unsigned char)c);
  return ids;
}

double unigramEntropyNats(const std::string &path) {
  const std::string data = readTextFile(path, "data file");
  if (data.empty()) throw Error(fmt::format("data file '{}' is empty", path));
  std::array<uint64_t, 256> counts{};
  for (char c : data) ++counts[(unsigned char)c];
  const double n = (double)data.size();
  double h = 0;
  for (uint64_t c : counts)
    if (c) {
      const double p = (double)c / n;
      h -= p * std::log(p);
    }
  return h;
}

}  // namespace heed::rt
