//===- Checkpoint.cpp - safetensors checkpoints ---------------------------===//

#include "runtime/Checkpoint.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>
#include <type_traits>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "heed's safetensors reader/writer assumes a little-endian host"
#endif

namespace heed::rt {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // 100 MB
const char *kMetadataKey = "__metadata__";

const char *stDTypeName(DType t) {
  switch (t) {
  case DType::F32: return "F32";
  case DType::I32: return "I32";
  case DType::I64: return "I64";
  case DType::Bool: return "BOOL";
  case DType::F64: return "F64";
  }
  return "?";
}

bool parseStDType(const std::string &s, DType &out) {
  if (s == "F32") out = DType::F32;
  else if (s == "I32") out = DType::I32;
  else if (s == "I64") out = DType::I64;
  else if (s == "F64") out = DType::F64;
  else if (s == "BOOL") out = DType::Bool;
  else return false;
  return true;
}

[[noreturn]] void ckptFail(const std::string &path, const std::string &what) {
  throw Error(fmt::format("checkpoint '{}': {}", path, what));
}

/// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void preadExact(int fd, void *dst, uint64_t n, uint64_t offset, const std::string &path) {
  char *p = static_cast<char *>(dst);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, (size_t)std::min<uint64_t>(n, 1u << 30), (off_t)offset);
    if (r < 0) {
      if (errno == EINTR) continue;
      ckptFail(path, fmt::format("read error: {}", std::strerror(errno)));
    }
    if (r == 0) ckptFail(path, "unexpected end of file (was it truncated while reading?)");
    p += r;
    n -= (uint64_t)r;
    offset += (uint64_t)r;
  }
}

bool nonNegativeInt(const ojson &j, uint64_t &out) {
  if (j.is_number_unsigned()) {
    out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    out = (uint64_t)j.get<int64_t>();
    return true;
  }
  return false;
}

struct Entry {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

}  // namespace

std::string checkpointFileName(int64_t step) { return fmt::format("ckpt-{}.safetensors", step); }

void saveCheckpoint(const std::string &path,
                    const std::vector<std::pair<std::string, const Tensor *>> &tensors,
                    const std::map<std::string, std::string> &metadata) {
  ojson header = ojson::object();
  if (!metadata.empty()) {
    ojson meta = ojson::object();
    for (const auto &[k, v] : metadata) meta[k] = v;
    header[kMetadataKey] = std::move(meta);
  }
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto &[name, t] : tensors) {
    if (name.empty()) throw Error(fmt::format("saveCheckpoint '{}': empty tensor name", path));
    if (name == kMetadataKey)
      throw Error(fmt::format("saveCheckpoint '{}': '{}' is a reserved name", path, name));
    if (!seen.insert(name).second)
      throw Error(fmt::format("saveCheckpoint '{}': duplicate tensor name '{}'", path, name));
    if (!t || !t->defined())
      throw Error(fmt::format("saveCheckpoint '{}': tensor '{}' is undefined", path, name));
    ojson e = ojson::object();
    e["dtype"] = stDTypeName(t->dtype());
    e["shape"] = t->shape();
    e["data_offsets"] = {offset, offset + t->bytes()};
    header[name] = std::move(e);
    offset += t->bytes();
  }
  std::string text = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned (8 + N = 0 mod 8).
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t n = text.size();

  writeFileAtomic(path, [&](std::ostream &os) {
    char len[8];
    for (int k = 0; k < 8; ++k) len[k] = (char)((n >> (8 * k)) & 0xff);
    os.write(len, 8);
    os.write(text.data(), (std::streamsize)text.size());
    for (const auto &[name, t] : tensors)
      os.write(static_cast<const char *>(t->raw()), (std::streamsize)t->bytes());
  });
}

Checkpoint loadCheckpoint(const std::string &path) {
  Fd fd;
  // O_NONBLOCK: a FIFO without a writer must not block open(); it is refused below.
  fd.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd.fd < 0) ckptFail(path, fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd.fd, &st) != 0) ckptFail(path, fmt::format("cannot stat: {}", std::strerror(errno)));
  if (S_ISDIR(st.st_mode))
    ckptFail(path, "is a directory (use resolveCheckpointPath to pick its latest checkpoint)");
  if (!S_ISREG(st.st_mode)) ckptFail(path, "is not a regular file (a FIFO or a device)");
  return parseCheckpoint((uint64_t)st.st_size, path, [&](void *dst, uint64_t n, uint64_t offset) {
    preadExact(fd.fd, dst, n, offset, path);
  });
}

Checkpoint parseCheckpoint(std::string_view bytes, const std::string &name) {
  return parseCheckpoint(bytes.size(), name, [&](void *dst, uint64_t n, uint64_t offset) {
    if (offset > bytes.size() || n > bytes.size() - offset)
      ckptFail(name, "unexpected end of file (was it truncated while reading?)");
    std::memcpy(dst, bytes.data() + offset, n);
  });
}

Checkpoint parseCheckpoint(uint64_t fileSize, const std::string &path,
                           const std::function<void(void *, uint64_t, uint64_t)> &read) {
  if (fileSize < 8)
    ckptFail(path, fmt::format("file too short ({} bytes; a safetensors file starts with an "
                               "8-byte header length)",
                               fileSize));
  unsigned char lenBytes[8];
  read(lenBytes, 8, 0);
  uint64_t n = 0;
  for (int k = 0; k < 8; ++k) n |= (uint64_t)lenBytes[k] << (8 * k);
  if (n > kMaxHeader)
    ckptFail(path, fmt::format("header length {} is absurd (more than 100 MB); not a safetensors file?", n));
  if (8 + n > fileSize)
    ckptFail(path, fmt::format("header length {} is beyond the end of the file ({} bytes)", n, fileSize));
  std::string text(n, '\0');
  read(text.data(), n, 8);
  if (n == 0 || text[0] != '{') ckptFail(path, "header does not start with '{' (not a safetensors file?)");

  ojson header;
  try {
    header = ojson::parse(text);
  } catch (const std::exception &e) {
    ckptFail(path, fmt::format("header is not valid JSON: {}", e.what()));
  }
  if (!header.is_object()) ckptFail(path, "header is not a JSON object");

  const uint64_t dataStart = 8 + n;
  const uint64_t dataSize = fileSize - dataStart;
  Checkpoint ck;
  ck.path = path;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string &name = it.key();
    const ojson &v = it.value();
    if (name == kMetadataKey) {
      if (!v.is_object()) ckptFail(path, "__metadata__ is not a JSON object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          ckptFail(path, fmt::format("__metadata__ value for '{}' is not a string", m.key()));
        ck.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string &what) { ckptFail(path, fmt::format("tensor '{}': {}", name, what)); };
    if (!v.is_object()) bad("entry is not a JSON object");
    for (const char *field : {"dtype", "shape", "data_offsets"})
      if (!v.contains(field)) bad(fmt::format("missing '{}'", field));
    Entry e;
    e.name = name;
    if (!v["dtype"].is_string()) bad("'dtype' is not a string");
    const std::string dt = v["dtype"].get<std::string>();
    if (!parseStDType(dt, e.dtype))
      bad(fmt::format("unsupported dtype '{}' (heed reads F32, I32, I64 and BOOL)", dt));
    if (!v["shape"].is_array()) bad("'shape' is not an array");
    for (const ojson &d : v["shape"]) {
      uint64_t dim;
      if (!nonNegativeInt(d, dim) || dim > (uint64_t)std::numeric_limits<int64_t>::max())
        bad(fmt::format("'shape' {} has an entry that is not a non-negative integer", v["shape"].dump()));
      e.shape.push_back((int64_t)dim);
    }
    const ojson &off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !nonNegativeInt(off[0], e.begin) ||
        !nonNegativeInt(off[1], e.end))
      bad(fmt::format("'data_offsets' {} is not a pair of non-negative integers", off.dump()));
    if (e.begin > e.end) bad(fmt::format("data_offsets [{}, {}] end before they begin", e.begin, e.end));
    if (e.end > dataSize)
      bad(fmt::format("data_offsets [{}, {}] out of range (the data section has {} bytes)", e.begin,
                      e.end, dataSize));
    // Byte count implied by dtype * shape, with an overflow guard.
    // The product of the non-zero dims is bounded even when a zero makes the tensor
    // empty: [2^40, 2^40, 0] would overflow every element count computed later.
    uint64_t need = dtypeSize(e.dtype);
    bool zero = false, tooBig = false;
    for (int64_t d : e.shape) {
      if (d == 0) zero = true;
      else if (!tooBig && need > (1ull << 62) / (uint64_t)d) tooBig = true;
      else if (!tooBig) need *= (uint64_t)d;
    }
    if (zero && tooBig)
      bad(fmt::format("'shape' {} is too large (its non-zero dimensions multiply past 2^62)",
                      shapeToString(e.shape)));
    if (zero) need = 0;
    if (tooBig || need != e.end - e.begin)
      bad(fmt::format("data_offsets [{}, {}] hold {} bytes but {} {} needs {}", e.begin, e.end,
                      e.end - e.begin, dt, shapeToString(e.shape),
                      tooBig ? std::string("more than 2^62") : std::to_string(need)));
    entries.push_back(std::move(e));
  }

  // The offsets must tile the data section exactly: sorted by begin, each tensor
  // starts where the previous one ended.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry &a, const Entry &b) { return a.begin < b.begin; });
  uint64_t pos = 0;
  const Entry *prev = nullptr;
  for (const Entry &e : entries) {
    if (e.begin < pos)
      ckptFail(path, fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", prev->name,
                                 prev->begin, prev->end, e.name, e.begin, e.end));
    if (e.begin > pos)
      ckptFail(path, fmt::format("{} unused bytes in the data section before tensor '{}' (offset {})",
                                 e.begin - pos, e.name, e.begin));
    pos = e.end;
    prev = &e;
  }
  if (pos != dataSize)
    ckptFail(path, fmt::format("{} bytes of trailing garbage after the last tensor (the data section "
                               "has {} bytes, the tensors cover {})",
                               dataSize - pos, dataSize, pos));

  for (const Entry &e : entries) {
    Tensor t(e.dtype, e.shape);
    if (t.bytes()) read(t.raw(), t.bytes(), dataStart + e.begin);
    if (e.dtype == DType::Bool) {
      const uint8_t *b = t.b8();
      for (int64_t i = 0; i < t.size(); ++i)
        if (b[i] > 1)
          ckptFail(path, fmt::format("tensor '{}': BOOL element {} has byte value {} (expected 0 or 1)",
                                     e.name, i, b[i]));
    }
    ck.order.push_back(e.name);
    ck.tensors.emplace(e.name, std::move(t));
  }
  return ck;
}

std::string resolveCheckpointPath(const std::string &fileOrDir) {
  std::error_code ec;
  fs::file_status st = fs::status(fileOrDir, ec);
  if (ec || !fs::exists(st))
    throw Error(fmt::format("checkpoint '{}' does not exist", fileOrDir));
  if (!fs::is_directory(st)) return fileOrDir;

  const fs::path dir(fileOrDir);
  const fs::path latest = dir / "latest";
  if (fs::is_regular_file(latest, ec)) {
    std::string name = readWholeFile(latest.string(), "checkpoint marker");
    while (!name.empty() && std::isspace((unsigned char)name.back())) name.pop_back();
    while (!name.empty() && std::isspace((unsigned char)name.front())) name.erase(0, 1);
    if (name.empty()) throw Error(fmt::format("checkpoint marker '{}' is empty", latest.string()));
    fs::path target(name);
    if (target.is_relative()) target = dir / target;
    if (!fs::is_regular_file(target, ec))
      throw Error(fmt::format("checkpoint marker '{}' names '{}', which does not exist",
                              latest.string(), target.string()));
    return target.string();
  }

  int64_t best = -1;
  fs::path bestPath;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string fname = it->path().filename().string();
    const std::string pre = "ckpt-", suf = ".safetensors";
    if (fname.size() <= pre.size() + suf.size() || fname.compare(0, pre.size(), pre) != 0 ||
        fname.compare(fname.size() - suf.size(), suf.size(), suf) != 0)
      continue;
    const std::string digits = fname.substr(pre.size(), fname.size() - pre.size() - suf.size());
    if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    if (!it->is_regular_file()) continue;
    int64_t step = std::stoll(digits);
    if (step > best) {
      best = step;
      bestPath = it->path();
    }
  }
  if (ec) throw Error(fmt::format("cannot list checkpoint directory '{}': {}", fileOrDir, ec.message()));
  if (best < 0)
    throw Error(fmt::format("no checkpoint in directory '{}' (expected ckpt-<step>.safetensors files "
                            "or a 'latest' file)",
                            fileOrDir));
  return bestPath.string();
}

void checkRunFormat(const Checkpoint &ck) {
  auto it = ck.metadata.find("heed.format");
  if (it == ck.metadata.end() || it->second == std::to_string(kRunFormatVersion)) return;
  throw Error(fmt::format("checkpoint '{}' has heed.format '{}', but this heed reads version {}: it was "
                          "written by another version of heed",
                          ck.path, it->second, kRunFormatVersion));
}

namespace {
/// Parses all of `text` as a decimal integer; "" on success, else why not.
template <typename T> std::string parseWhole(const std::string &text, T &out) {
  errno = 0;
  char *end = nullptr;
  if (text.empty() || std::isspace((unsigned char)text[0])) return "not an integer";
  if (std::is_unsigned_v<T> && text[0] == '-') return "not a non-negative integer";
  if constexpr (std::is_unsigned_v<T>)
    out = (T)std::strtoull(text.c_str(), &end, 10);
  else
    out = (T)std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size()) return "not an integer";
  if (errno == ERANGE) return "out of range";
  return "";
}
}  // namespace

int64_t metadataInt(const Checkpoint &ck, const std::string &key, int64_t fallback, int64_t min) {
  auto it = ck.metadata.find(key);
  if (it == ck.metadata.end()) return fallback;
  int64_t v = 0;
  std::string why = parseWhole(it->second, v);
  if (why.empty() && v < min) why = fmt::format("below {}", min);
  if (!why.empty())
    throw Error(fmt::format("checkpoint '{}': metadata '{}' is '{}', {}", ck.path, key, it->second, why));
  return v;
}

uint64_t metadataUnsigned(const Checkpoint &ck, const std::string &key, uint64_t fallback) {
  auto it = ck.metadata.find(key);
  if (it == ck.metadata.end()) return fallback;
  uint64_t v = 0;
  std::string why = parseWhole(it->second, v);
  if (!why.empty())
    throw Error(fmt::format("checkpoint '{}': metadata '{}' is '{}', {}", ck.path, key, it->second, why));
  return v;
}

std::vector<int64_t> checkpointSteps(const std::string &dir) {
  std::vector<int64_t> steps;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    const std::string pre = "ckpt-", suf = ".safetensors";
    if (n.size() <= pre.size() + suf.size() || n.compare(0, pre.size(), pre) != 0 ||
        n.compare(n.size() - suf.size(), suf.size(), suf) != 0)
      continue;
    std::string mid = n.substr(pre.size(), n.size() - pre.size() - suf.size());
    // More than 18 digits would overflow int64 (and is no step heed wrote).
    if (mid.empty() || mid.size() > 18 || !std::all_of(mid.begin(), mid.end(), ::isdigit)) continue;
    steps.push_back(std::stoll(mid));
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

void writeLatestMarker(const std::string &dir, const std::string &fileName) {
  writeFileAtomic((fs::path(dir) / "latest").string(), fileName + "\n");
}

void saveTrainingState(const std::string &path, const ParamStore &store,
                       const std::map<std::string, std::string> &metadata) {
  std::vector<std::pair<std::string, const Tensor *>> list;
  for (const Param &p : store) list.emplace_back("param/" + p.name, &p.value);
  for (const Param &p : store)
    if (p.m.defined() && p.v.defined()) {
      list.emplace_back("adam_m/" + p.name, &p.m);
      list.emplace_back("adam_v/" + p.name, &p.v);
    }
  saveCheckpoint(path, list, metadata);
}

void loadTrainingState(const Checkpoint &ckpt, ParamStore &store, bool withOptimizer) {
  const std::string where = ckpt.path.empty() ? std::string("checkpoint")
                                              : fmt::format("checkpoint '{}'", ckpt.path);
  auto fail = [&](const std::string &what) { throw Error(fmt::format("{}: {}", where, what)); };
  auto check = [&](const Param &p, const std::string &key, const char *what) -> const Tensor & {
    const Tensor &t = ckpt.tensors.at(key);
    if (t.dtype() != DType::F32)
      fail(fmt::format("{} of parameter '{}' ({}) is {}, expected f32", what, p.name, key,
                       dtypeName(t.dtype())));
    if (t.shape() != p.value.shape())
      fail(fmt::format("{} of parameter '{}' has shape {} in the checkpoint but {} in the model", what,
                       p.name, shapeToString(t.shape()), shapeToString(p.value.shape())));
    return t;
  };

  // Check everything first.
  for (const Param &p : store) {
    const std::string key = "param/" + p.name;
    if (!ckpt.tensors.count(key))
      fail(fmt::format("parameter '{}' (shape {}) is missing from the checkpoint (no tensor '{}')",
                       p.name, shapeToString(p.value.shape()), key));
    check(p, key, "value");
  }
  for (const std::string &name : ckpt.order) {
    for (const char *prefix : {"param/", "adam_m/", "adam_v/"}) {
      const std::string pre = prefix;
      if (name.compare(0, pre.size(), pre) != 0) continue;
      if (pre != "param/" && !withOptimizer) continue;
      const std::string pname = name.substr(pre.size());
      if (!store.contains(pname))
        fail(fmt::format("the checkpoint has {} '{}' (shape {}) for a parameter the model does not "
                         "have",
                         pre == "param/" ? "parameter" : "optimizer state", name,
                         shapeToString(ckpt.tensors.at(name).shape())));
    }
  }
  if (withOptimizer)
    for (const Param &p : store) {
      bool hasM = ckpt.tensors.count("adam_m/" + p.name), hasV = ckpt.tensors.count("adam_v/" + p.name);
      if (hasM != hasV)
        fail(fmt::format("parameter '{}' has {} but not {} in the checkpoint", p.name,
                         hasM ? "adam_m" : "adam_v", hasM ? "adam_v" : "adam_m"));
      if (hasM) {
        check(p, "adam_m/" + p.name, "adam_m");
        check(p, "adam_v/" + p.name, "adam_v");
      }
    }

  // Then copy.
  for (Param &p : store) {
    p.value = ckpt.tensors.at("param/" + p.name).clone();
    p.m = Tensor();
    p.v = Tensor();
    if (withOptimizer && ckpt.tensors.count("adam_m/" + p.name)) {
      p.m = ckpt.tensors.at("adam_m/" + p.name).clone();
      p.v = ckpt.tensors.at("adam_v/" + p.name).clone();
    }
  }
}

}  // namespace heed::rt
