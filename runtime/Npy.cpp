//===- Npy.cpp - NumPy .npy files <-> Tensor ------------------------------===//

#include "runtime/Npy.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <limits>
#include <optional>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "heed's .npy reader/writer assumes a little-endian host"
#endif

namespace heed::rt {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kMaxHeader = 1 << 20;

const char *descrFor(DType t) {
  switch (t) {
  case DType::F32: return "<f4";
  case DType::I32: return "<i4";
  case DType::I64: return "<i8";
  case DType::Bool: return "|b1";
  case DType::F64: return "<f8";
  }
  return "?";
}

/// A tiny parser for the Python dict literal in the header, e.g.
///   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
  HeaderParser(std::string_view s, const std::string &name) : s_(s), name_(name) {}

  [[noreturn]] void fail(const std::string &what) const {
    throw Error(fmt::format("npy '{}': malformed header: {} (header: {})", name_, what,
                            std::string(s_.substr(0, 200))));
  }
  void skipWs() {
    while (i_ < s_.size() && std::isspace((unsigned char)s_[i_])) ++i_;
  }
  bool consume(char c) {
    skipWs();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!consume(c)) fail(fmt::format("expected '{}'", c));
  }
  std::string parseString() {
    skipWs();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail("expected a quoted string");
    char q = s_[i_++];
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != q) ++i_;
    if (i_ >= s_.size()) fail("unterminated string");
    return std::string(s_.substr(start, i_++ - start));
  }
  bool parseBool() {
    skipWs();
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  int64_t parseInt() {
    skipWs();
    size_t start = i_;
    uint64_t v = 0;
    while (i_ < s_.size() && std::isdigit((unsigned char)s_[i_])) {
      v = v * 10 + (uint64_t)(s_[i_] - '0');
      if (v > (uint64_t)std::numeric_limits<int64_t>::max()) fail("dimension too large");
      ++i_;
    }
    if (i_ == start) fail("expected a non-negative integer");
    // Python 2 era files may write long integers as 3L.
    if (i_ < s_.size() && s_[i_] == 'L') ++i_;
    return (int64_t)v;
  }
  Shape parseShape() {
    expect('(');
    Shape shape;
    if (consume(')')) return shape;
    for (;;) {
      shape.push_back(parseInt());
      if (consume(')')) break;
      expect(',');
      if (consume(')')) break;
    }
    return shape;
  }
  bool atEnd() {
    skipWs();
    return i_ == s_.size();
  }

private:
  std::string_view s_;
  const std::string &name_;
  size_t i_ = 0;
};

[[noreturn]] void npyFail(const std::string &name, const std::string &what) {
  throw Error(fmt::format("npy '{}': {}", name, what));
}

uint32_t readLE(const char *p, size_t n) {
  uint32_t v = 0;
  for (size_t k = 0; k < n; ++k) v |= (uint32_t)(unsigned char)p[k] << (8 * k);
  return v;
}

}  // namespace

NpyInfo parseNpyHeader(std::string_view bytes, uint64_t fileSize, const std::string &name) {
  auto fail = [&](const std::string &what) { npyFail(name, what); };
  if (bytes.size() < kMagicLen || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0)
    fail("bad magic (not a .npy file)");
  if (bytes.size() < kMagicLen + 2) fail("truncated before the version");
  int major = (unsigned char)bytes[6], minor = (unsigned char)bytes[7];
  size_t lenBytes = 0;
  if (major == 1 && minor == 0)
    lenBytes = 2;
  else if ((major == 2 || major == 3) && minor == 0)
    lenBytes = 4;
  else
    npyFail(name, fmt::format("unsupported format version {}.{} (heed reads 1.0, 2.0 and 3.0)", major, minor));
  const size_t prefix = 8 + lenBytes;
  if (bytes.size() < prefix) fail("truncated before the header length");
  const size_t headerLen = readLE(bytes.data() + 8, lenBytes);
  if (headerLen > kMaxHeader)
    fail(fmt::format("header too large ({} bytes; the limit is {})", headerLen, kMaxHeader));
  if (fileSize < prefix + headerLen || bytes.size() < prefix + headerLen)
    fail(fmt::format("truncated header (the header length says {} bytes, the file has {} after the "
                     "prefix)",
                     headerLen, std::min<uint64_t>(fileSize, bytes.size()) - prefix));

  HeaderParser p(bytes.substr(prefix, headerLen), name);
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<Shape> shape;
  p.expect('{');
  while (!p.consume('}')) {
    std::string key = p.parseString();
    p.expect(':');
    if (key == "descr")
      descr = p.parseString();
    else if (key == "fortran_order")
      fortran = p.parseBool();
    else if (key == "shape")
      shape = p.parseShape();
    else
      p.fail(fmt::format("unexpected key '{}'", key));
    if (!p.consume(',')) {
      p.expect('}');
      break;
    }
  }
  if (!p.atEnd()) p.fail("unexpected text after the dict");
  if (!descr) p.fail("missing 'descr'");
  if (!fortran) p.fail("missing 'fortran_order'");
  if (!shape) p.fail("missing 'shape'");

  DType dtype;
  if (*descr == "<f4")
    dtype = DType::F32;
  else if (*descr == "<i4")
    dtype = DType::I32;
  else if (*descr == "<i8")
    dtype = DType::I64;
  else if (*descr == "|b1")
    dtype = DType::Bool;
  else if (*descr == "<f8")
    dtype = DType::F64;
  else
    npyFail(name, fmt::format("unsupported dtype '{}' (heed reads '<f4', '<f8', '<i4', '<i8' and '|b1')", *descr));
  if (*fortran) fail("fortran_order is True; heed reads only C-order arrays");

  // Element count, guarding against overflow.
  const uint64_t dataAvail = fileSize - prefix - headerLen;
  uint64_t count = 1;
  bool empty = false;
  for (int64_t d : *shape) {
    if (d == 0) empty = true;
    if (!empty && d > 0 && count > std::numeric_limits<uint64_t>::max() / 64 / (uint64_t)d)
      fail(fmt::format("shape {} is too large", shapeToString(*shape)));
    count *= (uint64_t)d;
  }
  if (empty) count = 0;
  const uint64_t need = count * dtypeSize(dtype);
  if (dataAvail < need)
    fail(fmt::format("truncated data: shape {} of {} needs {} bytes, the file has {}",
                     shapeToString(*shape), *descr, need, dataAvail));
  if (dataAvail > need)
    fail(fmt::format("{} trailing bytes after the data (shape {} of {} needs {} bytes)",
                     dataAvail - need, shapeToString(*shape), *descr, need));

  NpyInfo info;
  info.dtype = dtype;
  info.shape = *shape;
  info.dataOffset = prefix + headerLen;
  info.dataBytes = need;
  return info;
}

Tensor parseNpy(std::string_view bytes, const std::string &name) {
  const NpyInfo info = parseNpyHeader(bytes, bytes.size(), name);
  Tensor t(info.dtype, info.shape);
  if (info.dataBytes) std::memcpy(t.raw(), bytes.data() + info.dataOffset, info.dataBytes);
  if (info.dtype == DType::Bool) {
    const uint8_t *b = t.b8();
    for (uint64_t i = 0; i < info.dataBytes; ++i)
      if (b[i] > 1) npyFail(name, fmt::format("bool element {} has byte value {} (expected 0 or 1)", i, b[i]));
  }
  return t;
}

Tensor readNpy(const std::string &path) { return parseNpy(readWholeFile(path, "npy file"), path); }

NpyInfo readNpyInfo(const std::string &path) {
  uint64_t fileSize = 0;
  std::string head = readFilePrefix(path, "npy file", 12 + kMaxHeader, fileSize);
  return parseNpyHeader(head, fileSize, path);
}

std::string encodeNpy(const Tensor &t) {
  if (!t.defined()) throw Error("encodeNpy: undefined tensor");
  std::string shape;
  if (t.rank() == 1)
    shape = fmt::format("({},)", t.dim(0));
  else
    shape = fmt::format("({})", fmt::join(t.shape(), ", "));
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 descrFor(t.dtype()), shape);
  // Pad with spaces and a final newline so the data starts on a 64-byte boundary.
  auto build = [&](int major) {
    size_t lenBytes = major == 1 ? 2 : 4;
    size_t prefix = 8 + lenBytes;
    size_t total = prefix + dict.size() + 1;
    size_t padded = (total + 63) / 64 * 64;
    std::string header = dict + std::string(padded - total, ' ') + "\n";
    std::string out(kMagic, kMagicLen);
    out.push_back((char)major);
    out.push_back(0);
    size_t hl = header.size();
    for (size_t k = 0; k < lenBytes; ++k) out.push_back((char)((hl >> (8 * k)) & 0xff));
    out += header;
    return out;
  };
  std::string out = build(1);
  if (out.size() - 10 > 65535) out = build(2);
  out.append(static_cast<const char *>(t.raw()), t.bytes());
  return out;
}

void writeNpy(const std::string &path, const Tensor &t) { writeFileAtomic(path, encodeNpy(t)); }

}  // namespace heed::rt
