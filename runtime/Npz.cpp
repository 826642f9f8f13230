//===- Npz.cpp - NumPy .npz archives (zip, stored members) ----------------===//

#include "runtime/Npz.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/Npy.h"

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <limits>
#include <set>

namespace heed::rt {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kLimit32 = 0xffffffffu;

const std::array<uint32_t, 256> &crcTable() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

/// Bounds-checked little-endian reads from the archive's bytes.
class Reader {
public:
  Reader(std::string_view b, const std::string &name) : b_(b), name_(name) {}
  [[noreturn]] void fail(const std::string &what) const {
    throw Error(fmt::format("npz '{}': {}", name_, what));
  }
  uint64_t le(uint64_t at, int n, const char *what) const {
    if (at + n > b_.size() || at + n < at) fail(fmt::format("truncated zip archive (reading the {})", what));
    uint64_t v = 0;
    for (int k = 0; k < n; ++k) v |= (uint64_t)(unsigned char)b_[at + k] << (8 * k);
    return v;
  }
  std::string_view slice(uint64_t at, uint64_t n, const char *what) const {
    if (at > b_.size() || n > b_.size() - at) fail(fmt::format("truncated zip archive (the {})", what));
    return b_.substr(at, n);
  }
  size_t size() const { return b_.size(); }

private:
  std::string_view b_;
  const std::string &name_;
};

/// A raw deflate stream (zip method 8) of known size, inflated with zlib.
std::string inflateMember(std::string_view data, uint64_t size, const Reader &r, const std::string &member) {
  if (size > (uint64_t)std::numeric_limits<uInt>::max() || data.size() > (uint64_t)std::numeric_limits<uInt>::max())
    r.fail(fmt::format("member '{}' is too large to inflate in one piece", member));
  std::string out(size, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) r.fail("cannot initialise zlib");
  z.next_in = (Bytef *)data.data();
  z.avail_in = (uInt)data.size();
  z.next_out = (Bytef *)out.data();
  z.avail_out = (uInt)out.size();
  int rc = inflate(&z, Z_FINISH);
  uint64_t produced = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != size)
    r.fail(fmt::format("member '{}' is corrupt (its deflate stream {})", member,
                       rc == Z_STREAM_END ? "has the wrong size" : "does not inflate"));
  return out;
}

void put(std::string &out, uint64_t v, int n) {
  for (int k = 0; k < n; ++k) out.push_back((char)((v >> (8 * k)) & 0xff));
}

}  // namespace

uint32_t crc32(std::string_view bytes) {
  const auto &t = crcTable();
  uint32_t c = 0xffffffffu;
  for (unsigned char ch : bytes) c = t[(c ^ ch) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

NamedTensors parseNpz(std::string_view bytes, const std::string &name) {
  Reader r(bytes, name);
  if (bytes.size() < 22) r.fail("not a zip archive (shorter than an end-of-central-directory record)");
  // The end record is the last 22 bytes plus a comment of up to 64 KiB: search backwards.
  int64_t end = -1;
  for (int64_t at = (int64_t)bytes.size() - 22; at >= 0 && at >= (int64_t)bytes.size() - 22 - 65535; --at)
    if (r.le(at, 4, "end record") == kEndSig) {
      end = at;
      break;
    }
  if (end < 0) r.fail("not a zip archive (no end-of-central-directory record)");
  uint64_t entries = r.le(end + 10, 2, "end record");
  uint64_t cdSize = r.le(end + 12, 4, "end record");
  uint64_t cdOffset = r.le(end + 16, 4, "end record");
  if (r.le(end + 4, 2, "end record") != 0 || r.le(end + 6, 2, "end record") != 0)
    r.fail("multi-disk zip archives are not supported");
  if (end >= 20 && r.le(end - 20, 4, "zip64 locator") == kZip64LocatorSig) {
    uint64_t z = r.le(end - 20 + 8, 8, "zip64 locator");
    if (r.le(z, 4, "zip64 end record") != kZip64EndSig) r.fail("bad zip64 end-of-central-directory record");
    entries = r.le(z + 32, 8, "zip64 end record");
    cdSize = r.le(z + 40, 8, "zip64 end record");
    cdOffset = r.le(z + 48, 8, "zip64 end record");
  }
  r.slice(cdOffset, cdSize, "central directory");

  NamedTensors out;
  std::set<std::string> seen;
  uint64_t at = cdOffset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (r.le(at, 4, "central directory") != kCentralSig)
      r.fail(fmt::format("bad central directory entry {}", e));
    uint64_t flags = r.le(at + 8, 2, "central directory"), method = r.le(at + 10, 2, "central directory");
    uint32_t crc = (uint32_t)r.le(at + 16, 4, "central directory");
    uint64_t csize = r.le(at + 20, 4, "central directory"), usize = r.le(at + 24, 4, "central directory");
    uint64_t nameLen = r.le(at + 28, 2, "central directory"), extraLen = r.le(at + 30, 2, "central directory");
    uint64_t commentLen = r.le(at + 32, 2, "central directory");
    uint64_t local = r.le(at + 42, 4, "central directory");
    std::string member(r.slice(at + 46, nameLen, "member name"));
    // ZIP64 extra field (id 1): the 64-bit values of the fields saturated at 0xffffffff, in order.
    std::string_view extra = r.slice(at + 46 + nameLen, extraLen, "extra field");
    Reader x(extra, name);
    for (uint64_t p = 0; p + 4 <= extra.size();) {
      uint64_t id = x.le(p, 2, "extra field"), len = x.le(p + 2, 2, "extra field");
      if (id == 1) {
        uint64_t q = p + 4;
        if (usize == kLimit32) usize = x.le(q, 8, "zip64 extra field"), q += 8;
        if (csize == kLimit32) csize = x.le(q, 8, "zip64 extra field"), q += 8;
        if (local == kLimit32) local = x.le(q, 8, "zip64 extra field"), q += 8;
      }
      p += 4 + len;
    }
    at += 46 + nameLen + extraLen + commentLen;

    if (flags & 1) r.fail(fmt::format("member '{}' is encrypted", member));
    if (method != 0 && method != 8)
      r.fail(fmt::format("member '{}' uses zip compression method {}; heed reads stored and deflated members "
                         "(np.savez and np.savez_compressed)", member, method));
    if (method == 0 && csize != usize) r.fail(fmt::format("member '{}' is stored but its sizes differ", member));
    if (member.size() < 5 || member.substr(member.size() - 4) != ".npy")
      r.fail(fmt::format("member '{}' is not a .npy file", member));
    std::string array = member.substr(0, member.size() - 4);
    if (!seen.insert(array).second) r.fail(fmt::format("array '{}' appears twice", array));
    if (r.le(local, 4, "local header") != kLocalSig)
      r.fail(fmt::format("bad local header of member '{}'", member));
    uint64_t dataAt = local + 30 + r.le(local + 26, 2, "local header") + r.le(local + 28, 2, "local header");
    std::string inflated;
    std::string_view data = r.slice(dataAt, csize, "member data");
    if (method == 8) data = inflated = inflateMember(data, usize, r, member);
    if (crc32(data) != crc)
      r.fail(fmt::format("member '{}' is corrupt (CRC-32 {:08x}, the directory says {:08x})", member,
                         crc32(data), crc));
    out.emplace_back(array, parseNpy(data, name + ":" + member));
  }
  return out;
}

NamedTensors readNpz(const std::string &path) { return parseNpz(readWholeFile(path, "npz file"), path); }

std::string encodeNpz(const NamedTensors &arrays) {
  std::string out, central;
  std::set<std::string> seen;
  for (const auto &[array, t] : arrays) {
    if (array.empty()) throw Error("npz: an array has an empty name");
    if (!seen.insert(array).second) throw Error("npz: array '" + array + "' given twice");
    std::string member = array + ".npy", data = encodeNpy(t);
    if (member.size() > 0xffff) throw Error("npz: array name '" + array.substr(0, 40) + "...' is too long");
    uint64_t offset = out.size();
    if (offset + data.size() + 30 + member.size() >= kLimit32)
      throw Error("npz: the archive would reach 4 GiB; heed writes .npz files below that size");
    uint32_t crc = crc32(data);
    // A fixed date (1980-01-01 00:00) keeps archives reproducible.
    auto header = [&](std::string &o, bool centralEntry) {
      put(o, centralEntry ? kCentralSig : kLocalSig, 4);
      if (centralEntry) put(o, 20, 2);  // made by
      put(o, 20, 2);                    // version needed
      put(o, 0, 2);                     // flags
      put(o, 0, 2);                     // method: stored
      put(o, 0, 2);                     // time
      put(o, 0x21, 2);                  // date
      put(o, crc, 4);
      put(o, data.size(), 4);
      put(o, data.size(), 4);
      put(o, member.size(), 2);
      put(o, 0, 2);  // extra length
      if (centralEntry) {
        put(o, 0, 2);  // comment length
        put(o, 0, 2);  // disk
        put(o, 0, 2);  // internal attributes
        put(o, 0, 4);  // external attributes
        put(o, offset, 4);
      }
      o += member;
    };
    header(out, false);
    out += data;
    header(central, true);
  }
  if (arrays.size() > 0xffff) throw Error("npz: more than 65535 arrays");
  uint64_t cdOffset = out.size();
  out += central;
  put(out, kEndSig, 4);
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, arrays.size(), 2);
  put(out, arrays.size(), 2);
  put(out, central.size(), 4);
  put(out, cdOffset, 4);
  put(out, 0, 2);
  return out;
}

void writeNpz(const std::string &path, const NamedTensors &arrays) { writeFileAtomic(path, encodeNpz(arrays)); }

}  // namespace heed::rt
