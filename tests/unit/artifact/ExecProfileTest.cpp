//===- ExecProfileTest.cpp - HEED_PROFILE=kernels bandwidth table, no MLIR --===//

#include "runtime/compiled/ExecProfile.h"
#include "runtime/compiled/MemoryLevels.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <sstream>

namespace heed::rt {
namespace {

/// A host with a 1 MiB L2 per core and a shared 32 MiB L3, with fixed bandwidths
/// (1 thread / 2 threads), so the table's numbers are known.
MemoryLevels fakeHost() {
  MemoryLevels m;
  m.levels = {{"L2", 1 << 20, true, {200, 400}}, {"L3", 32 << 20, false, {50, 80}}, {"DRAM", 0, false, {10, 20}}};
  return m;
}

std::string print(const ExecProfile &p, const MemoryLevels *levels) {
  std::FILE *f = std::tmpfile();
  printProfile(p, "test", f, levels);
  std::rewind(f);
  std::string s;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) s.append(buf, n);
  std::fclose(f);
  return s;
}

TEST(MemoryLevels, PicksTheSmallestLevelTheBytesFit) {
  MemoryLevels m = fakeHost();
  EXPECT_EQ(m.levelFor(512 << 10, 1).name, "L2");
  EXPECT_EQ(m.levelFor(1 << 20, 1).name, "L3");   // more than 3/4 of one L2
  EXPECT_EQ(m.levelFor(1 << 20, 2).name, "L2");   // half a MiB per core
  EXPECT_EQ(m.levelFor(20 << 20, 2).name, "L3");  // the L3 is shared: threads do not add to it
  EXPECT_EQ(m.levelFor(30 << 20, 2).name, "DRAM");
  EXPECT_EQ(MemoryLevels::bandwidth(m.levels[1], 2), 80);
  EXPECT_EQ(MemoryLevels::bandwidth(m.levels[1], 1), 50);
  EXPECT_EQ(MemoryLevels::bandwidth(m.levels[1], 7), 80);  // more threads than measured: all of them
}

TEST(MemoryLevels, ReadsThisHostAndMeasuresEveryLevel) {
  MemoryLevels m = MemoryLevels::ofHost();
  ASSERT_FALSE(m.levels.empty());
  EXPECT_EQ(m.levels.back().name, "DRAM");
  EXPECT_EQ(m.levels.back().capacity, 0);
  m.measure(2);
  for (const MemoryLevel &l : m.levels) {
    EXPECT_GT(MemoryLevels::bandwidth(l, 1), 0.1) << l.name;
    EXPECT_GT(MemoryLevels::bandwidth(l, 2), 0.1) << l.name;
  }
}

TEST(ExecProfile, KernelTableRatesEachRowAgainstItsLevel) {
  ExecProfile p;
  // 10 calls of 0.5 MB each in 1 ms: 5 GB/s, in L2 on one thread (200 GB/s): 2.5%, printed as 2%.
  p["train_step_k1"] = {0.001, 10, 5e6, 1, 50e-6};
  // 4 calls of 40 MB in 0.1 s: 1.6 GB/s; beyond the L3, on 2 threads: DRAM 20 GB/s, 8%.
  p["matmul [64, 128]"] = {0.1, 4, 160e6, 2, 0.02};
  MemoryLevels m = fakeHost();
  std::string s = print(p, &m);
  std::istringstream in(s);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "heed profile (test), total 0.101 s");
  std::getline(in, line);
  EXPECT_EQ(line, "  memory levels (GB/s of dst = a + b, measured now, 1 thread / all): L2 1024K 200.0/400.0 "
                  "L3 32768K 50.0/80.0 DRAM 10.0/20.0");
  std::getline(in, line);
  EXPECT_TRUE(std::regex_match(line, std::regex(" +kernel / call site +seconds +share +calls +us/call +best us +MB/call "
                                                "+GB/s +fits +GB/s +of it")))
      << line;
  std::getline(in, line);  // largest first
  EXPECT_TRUE(std::regex_match(line, std::regex(" +matmul \\[64, 128\\] +0\\.100 +99\\.0% +4 +25000\\.0 +20000\\.0 +40\\.000 "
                                                "+1\\.6 DRAM +20\\.0 +8%")))
      << line;
  std::getline(in, line);
  EXPECT_TRUE(std::regex_match(line, std::regex(" +train_step_k1 +0\\.001 +1\\.0% +10 +100\\.0 +50\\.0 +0\\.500 +5\\.0 "
                                                "L2 +200\\.0 +2%")))
      << line;
}

TEST(ExecProfile, RowsKeepTheBestCall) {
  ProfileRow r;
  r.add(0.003, 100, 2);
  r.add(0.001, 100, 2);
  r.add(0.002, 100, 2);
  EXPECT_EQ(r.calls, 3);
  EXPECT_DOUBLE_EQ(r.seconds, 0.006);
  EXPECT_DOUBLE_EQ(r.best, 0.001);
  EXPECT_DOUBLE_EQ(r.bytes, 300);
}

TEST(ExecProfile, TotalsTableKeepsItsThreeColumns) {
  ExecProfile p;
  p["fused kernels"] = {0.25, 100, 1e9, 2};
  p["matmul"] = {0.75, 50, 1e9, 2};
  EXPECT_EQ(print(p, nullptr),
            "heed profile (test), total 1.000 s\n"
            "  matmul                    0.750 s   75.0%\n"
            "  fused kernels             0.250 s   25.0%\n");
}

}  // namespace
}  // namespace heed::rt
