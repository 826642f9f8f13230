//===- ExecProfile.cpp ----------------------------------------------------===//

#include "runtime/compiled/ExecProfile.h"

#include "runtime/compiled/MemoryLevels.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace heed::rt {

bool profilePerKernel() {
  static const bool perKernel = [] {
    const char *e = std::getenv("HEED_PROFILE");
    return e && std::string(e) == "kernels";
  }();
  return perKernel;
}

void printProfile(const ExecProfile &profile, const std::string &title, std::FILE *out,
                  const MemoryLevels *levels) {
  if (profile.empty()) return;
  double total = 0;
  for (auto &[k, r] : profile) total += r.seconds;
  std::vector<std::pair<double, std::string>> rows;
  for (auto &[k, r] : profile) rows.push_back({r.seconds, k});
  std::sort(rows.rbegin(), rows.rend());
  std::fprintf(out, "heed profile (%s), total %.3f s\n", title.c_str(), total);
  if (!levels) {
    for (auto &[v, k] : rows) std::fprintf(out, "  %-22s %8.3f s  %5.1f%%\n", k.c_str(), v, 100 * v / total);
    return;
  }
  std::fprintf(out, "  memory levels (GB/s of dst = a + b, measured now, 1 thread / all):");
  for (const MemoryLevel &l : levels->levels)
    std::fprintf(out, " %s%s %.1f/%.1f", l.name.c_str(),
                 l.capacity ? (" " + std::to_string(l.capacity >> 10) + "K").c_str() : "",
                 MemoryLevels::bandwidth(l, 1), MemoryLevels::bandwidth(l, 1 << 30));
  std::fprintf(out, "\n  %-34s %8s %6s %7s %9s %9s %8s %7s %-5s %7s %6s\n", "kernel / call site", "seconds",
               "share", "calls", "us/call", "best us", "MB/call", "GB/s", "fits", "GB/s", "of it");
  for (auto &[v, k] : rows) {
    const ProfileRow &r = profile.at(k);
    int64_t calls = std::max<int64_t>(r.calls, 1);
    double perCall = r.bytes / (double)calls;
    double gbps = r.seconds > 0 ? r.bytes / r.seconds / 1e9 : 0;
    const MemoryLevel &l = levels->levelFor(perCall, r.threads);
    double peak = MemoryLevels::bandwidth(l, r.threads);
    std::fprintf(out, "  %-34s %8.3f %5.1f%% %7lld %9.1f %9.1f %8.3f %7.1f %-5s %7.1f %5.0f%%\n", k.c_str(), v,
                 100 * v / total, (long long)r.calls, 1e6 * v / (double)calls, 1e6 * r.best, perCall / 1e6, gbps,
                 l.name.c_str(), peak, peak > 0 ? 100 * gbps / peak : 0.0);
  }
}

void printProfile(const ExecProfile &profile, const std::string &title) {
  if (profile.empty()) return;
  if (!profilePerKernel()) return printProfile(profile, title, stderr, nullptr);
  MemoryLevels levels = MemoryLevels::ofHost();
  levels.measure(omp_get_max_threads());
  printProfile(profile, title, stderr, &levels);
}

}  // namespace heed::rt
