//===- TokenizerStore.cpp - a run's tokenizer in its checkpoints ----------===//

#include "runtime/text/TokenizerStore.h"

#include "runtime/Error.h"

namespace heed::rt {

namespace {
constexpr const char *kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64Encode(const std::string &bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = (uint32_t)(unsigned char)bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= (uint32_t)(unsigned char)bytes[i + 1] << 8;
    if (i + 2 < bytes.size()) v |= (uint32_t)(unsigned char)bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string base64Decode(const std::string &text, const std::string &what) {
  if (text.size() % 4 != 0) throw Error(what + " is not base64 (its length is not a multiple of 4)");
  int8_t value[256];
  for (int c = 0; c < 256; ++c) value[c] = -1;
  for (int i = 0; i < 64; ++i) value[(unsigned char)kAlphabet[i]] = (int8_t)i;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad || value[(unsigned char)c] < 0) throw Error(what + " is not base64 (bad character at " + std::to_string(i + k) + ")");
      v = v << 6 | (uint32_t)value[(unsigned char)c];
    }
    out += (char)((v >> 16) & 0xff);
    if (pad < 2) out += (char)((v >> 8) & 0xff);
    if (pad < 1) out += (char)(v & 0xff);
  }
  return out;
}

void storeTokenizer(const TextTokenizer &t, std::map<std::string, std::string> &meta, const std::string &key) {
  meta[key] = t.kind();
  meta[key + "_data"] = base64Encode(t.serialize());
}

std::unique_ptr<TextTokenizer> tokenizerFromMetadata(const std::map<std::string, std::string> &meta,
                                                     const std::string &where, const std::string &key) {
  auto kind = meta.find(key);
  if (kind == meta.end()) return makeByteTokenizer();
  auto data = meta.find(key + "_data");
  const std::string bytes =
      data == meta.end() ? "" : base64Decode(data->second, where + ": metadata '" + key + "_data'");
  return restoreTokenizer(kind->second, bytes, where + " (its stored tokenizer)");
}

}  // namespace heed::rt
