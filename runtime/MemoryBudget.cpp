//===- MemoryBudget.cpp ---------------------------------------------------===//

#include "runtime/MemoryBudget.h"

#include "runtime/Error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <sys/resource.h>
#include <unistd.h>

namespace heed::rt {

namespace {

/// The first line of a small file, "" if unreadable.
std::string firstLine(const std::string &path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

/// "64G", "512M", "1.5GiB", "1000000": bytes; -1 for "off"; throws on anything else.
int64_t parseSize(const std::string &text) {
  std::string t;
  for (char c : text)
    if (!std::isspace((unsigned char)c)) t += (char)std::tolower((unsigned char)c);
  if (t == "off" || t == "none" || t == "0") return -1;
  char *end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  std::string unit(end);
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();  // "GB", "GiB"
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  double scale = unit.empty() ? 1 : unit == "k" ? 1024.0 : unit == "m" ? 1048576.0
                 : unit == "g" ? 1073741824.0 : unit == "t" ? 1099511627776.0 : -1;
  if (end == t.c_str() || scale < 0 || !(v > 0) || !std::isfinite(v) || v * scale > 9e18)
    throw Error(fmt::format("HEED_MEMORY_LIMIT='{}' is not a size: use e.g. 64G, 512M or 1000000 (bytes), "
                            "or off to skip the memory check",
                            text));
  return (int64_t)(v * scale);
}

/// The limit that is smaller, keeping its source.
void tighten(MemoryLimit &m, int64_t bytes, const std::string &source) {
  if (bytes < 0) return;
  if (m.bytes < 0 || bytes < m.bytes) {
    m.bytes = bytes;
    m.source = source;
  }
}

int64_t memAvailable() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (f >> key >> kb) {
    std::getline(f, unit);
    if (key == "MemAvailable:") return kb * 1024;
  }
  return -1;
}

/// limit - usage read from `dir`'s files `max` and `current`, or -1 when there is
/// no such file or no limit ("max", or v1's "unlimited" near 2^63).
int64_t headroomIn(const std::string &dir, const char *max, const char *current) {
  const std::string m = firstLine(dir + "/" + max), c = firstLine(dir + "/" + current);
  if (m.empty() || m == "max") return -1;
  int64_t limit = std::atoll(m.c_str()), used = c.empty() ? 0 : std::atoll(c.c_str());
  if (limit <= 0 || limit >= (INT64_C(1) << 62)) return -1;
  return std::max<int64_t>(0, limit - used);
}

/// What this process's cgroup can still take: memory.max - memory.current (v2), or
/// memory.limit_in_bytes - memory.usage_in_bytes (v1); -1 without a limit. Inside
/// a container the cgroup's path may not exist under /sys/fs/cgroup: then the
/// root of the mounted hierarchy is the process's own cgroup.
int64_t cgroupHeadroom() {
  std::ifstream f("/proc/self/cgroup");
  std::string line, v2, v1;
  while (std::getline(f, line)) {
    if (line.rfind("0::", 0) == 0) v2 = line.substr(3);
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a != std::string::npos && b != std::string::npos && line.substr(a + 1, b - a - 1) == "memory")
      v1 = line.substr(b + 1);
  }
  auto join = [](const std::string &root, const std::string &path) {
    return root + (path == "/" ? std::string() : path);
  };
  int64_t h = -1;
  if (!v2.empty()) {
    h = headroomIn(join("/sys/fs/cgroup", v2), "memory.max", "memory.current");
    if (h < 0) h = headroomIn("/sys/fs/cgroup", "memory.max", "memory.current");
  }
  if (h < 0 && !v1.empty()) {
    h = headroomIn(join("/sys/fs/cgroup/memory", v1), "memory.limit_in_bytes", "memory.usage_in_bytes");
    if (h < 0) h = headroomIn("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes");
  }
  return h;
}

/// RLIMIT_AS minus the address space mapped now, or -1.
int64_t addressSpaceHeadroom() {
  struct rlimit r;
  if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return -1;
  std::ifstream f("/proc/self/statm");
  int64_t pages = 0;
  f >> pages;
  return std::max<int64_t>(0, (int64_t)r.rlim_cur - pages * (int64_t)sysconf(_SC_PAGESIZE));
}

/// The flag that sets one of t's dimensions: the config entries whose value is one
/// of them, preferring what the user changed (--set entries), then the
/// largest dimension; entries that tie (seq = d_model = 32) are all named. The batch
/// is always the value of a flag (--batch, whose default is not the model's), so it
/// counts as changed by the user when it is t's largest dimension: --batch 100000000
/// with --set d_model=16 names --batch, not d_model.
std::string flagFor(const TensorNeed &t, const ModelInfo &info) {
  std::vector<std::string> best;
  int bestRank = -1;
  int64_t bestDim = 0;
  const int64_t largest = t.shape.empty() ? 0 : *std::max_element(t.shape.begin(), t.shape.end());
  for (int64_t d : t.shape) {
    if (d <= 1) continue;
    for (const auto &[key, value] : info.config) {
      if (value != (double)d) continue;
      int rank = info.overrides.count(key) || (key == "batch" && d == largest) ? 1 : 0;
      if (rank > bestRank || (rank == bestRank && d > bestDim)) {
        bestRank = rank;
        bestDim = d;
        best.clear();
      }
      if (rank == bestRank && d == bestDim &&
          std::find(best.begin(), best.end(), key) == best.end())
        best.push_back(key);
    }
  }
  if (best.empty()) return "make it smaller in the model file";
  std::string flags;
  for (size_t i = 0; i < best.size(); ++i)
    flags += (i ? " or " : "") + (best[i] == "batch" ? std::string("--batch") : "--set " + best[i] + "=N");
  return "lower it with " + flags + " (now " + std::to_string(bestDim) + ")";
}

}  // namespace

int64_t TensorNeed::bytes() const {
  double n = (double)dtypeSize(dtype);
  for (int64_t d : shape) n *= (double)d;
  return n >= 9.2e18 ? INT64_MAX : (int64_t)n;
}

/// a + b, saturating.
static int64_t addSat(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

void MemoryNeed::consider(const TensorNeed &t) {
  if (t.bytes() > largest.bytes()) largest = t;
}

MemoryNeed parameterNeed(const std::vector<ParamSpec> &params, bool training) {
  MemoryNeed need;
  for (const ParamSpec &p : params) {
    TensorNeed t{"parameter '" + p.name + "'", DType::F32, p.shape};
    need.paramBytes = addSat(need.paramBytes, t.bytes());
    if (training && !p.frozen) need.optimizerBytes = addSat(need.optimizerBytes, addSat(t.bytes(), t.bytes()));
    need.consider(t);
  }
  return need;
}

MemoryLimit availableMemory() {
  MemoryLimit m;
  if (const char *env = std::getenv("HEED_MEMORY_LIMIT"); env && *env) {
    m.bytes = parseSize(env);
    m.source = m.bytes < 0 ? "" : "HEED_MEMORY_LIMIT";
    return m;
  }
  tighten(m, memAvailable(), "MemAvailable in /proc/meminfo");
  tighten(m, cgroupHeadroom(), "the cgroup's memory limit");
  tighten(m, addressSpaceHeadroom(), "RLIMIT_AS (ulimit -v)");
  return m;
}

std::string formatMemorySize(int64_t bytes) {
  const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  double v = (double)bytes;
  int u = -1;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  return fmt::format("{:.1f} {}", v, units[u]);
}

void checkMemory(const MemoryNeed &need, const MemoryLimit &limit, const ModelInfo &info,
                 const std::string &purpose) {
  const int64_t total = addSat(addSat(need.paramBytes, need.optimizerBytes), need.activationBytes);
  if (limit.bytes < 0 || total <= limit.bytes) return;
  std::string parts = "parameters " + formatMemorySize(need.paramBytes);
  if (need.optimizerBytes) parts += ", Adam's moments " + formatMemorySize(need.optimizerBytes);
  if (need.activationBytes)
    parts += ", " + need.activationEntry + " values " + formatMemorySize(need.activationBytes);
  const TensorNeed &t = need.largest;
  throw Error(fmt::format("model '{}' needs about {} to {} ({}), but {} is available ({}); its largest "
                          "tensor is {} {} {} ({}): {}\nHINT: HEED_MEMORY_LIMIT=SIZE sets the budget, "
                          "HEED_MEMORY_LIMIT=off skips this check",
                          info.name, formatMemorySize(total), purpose, parts,
                          formatMemorySize(limit.bytes), limit.source, t.what, dtypeName(t.dtype),
                          shapeToString(t.shape), formatMemorySize(t.bytes()), flagFor(t, info)));
}

}  // namespace heed::rt
