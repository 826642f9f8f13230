#include "TempDir.h"

#include "runtime/Error.h"
#include "runtime/train/Progress.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>

using namespace heed::rt;
using namespace heed::rt::test;

namespace {
std::string readAll(std::FILE *f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}
StepStats stats(int64_t step) {
  StepStats s;
  s.step = step;
  s.loss = 2.34119;
  s.lr = 3.1e-4;
  s.tokensPerSec = 12345;
  s.elapsedSec = 41;
  return s;
}
}  // namespace

TEST(RuntimeProgress, FormatHelpers) {
  EXPECT_EQ(formatDuration(0), "0:00");
  EXPECT_EQ(formatDuration(41.9), "0:41");
  EXPECT_EQ(formatDuration(622), "10:22");
  EXPECT_EQ(formatDuration(3600 + 62), "1:01:02");
  EXPECT_EQ(formatDuration(-1), "?");
  EXPECT_EQ(formatRate(950), "950");
  EXPECT_EQ(formatRate(12345), "12.3k");
  EXPECT_EQ(formatRate(1234), "1.23k");
  EXPECT_EQ(formatRate(123456), "123k");
  EXPECT_EQ(formatRate(999.7), "1.00k");
  EXPECT_EQ(formatRate(1.5e6), "1.50M");
}

TEST(RuntimeProgress, Line) {
  // 120 steps in 41 s -> 1880 steps left take 41 / 120 * 1880 = 642.3 s.
  EXPECT_EQ(formatProgressLine(stats(120), 2000),
            "step 120/2000  loss 2.3412  lr 3.1e-04  12.3k tok/s  elapsed 0:41  eta 10:42");
  // Resumed at step 100: 20 steps in 41 s.
  EXPECT_NE(formatProgressLine(stats(120), 2000, 100).find("eta 1:04:14"), std::string::npos);
}

TEST(RuntimeProgress, LineOfATimeBudgetedRun) {
  // A 60-minute budget with 41 s used: 59:19 left, sooner than the 2000 steps' 10:42? No:
  // the steps end first, so the step estimate stays.
  StepStats s = stats(120);
  s.budgetSec = 3600;
  EXPECT_NE(formatProgressLine(s, 2000).find("eta 10:42"), std::string::npos);
  // A 5-minute budget ends before the steps: 300 - 41 = 4:19.
  s.budgetSec = 300;
  EXPECT_NE(formatProgressLine(s, 2000).find("eta 4:19"), std::string::npos);
  // No step bound (time-budgeted, no --steps): no "/N", the ETA is the budget's rest.
  s.budgetSec = 3600;
  EXPECT_EQ(formatProgressLine(s, 0),
            "step 120  loss 2.3412  lr 3.1e-04  12.3k tok/s  elapsed 0:41  eta 59:19");
  // Past the budget (the step that crossed it): 0:00, never negative.
  s.elapsedSec = 3601;
  EXPECT_NE(formatProgressLine(s, 0).find("eta 0:00"), std::string::npos);
}

TEST(RuntimeProgress, PipedPrintsEveryNSteps) {
  std::FILE *f = std::tmpfile();
  {
    ProgressReporter r(25, 10, f, 0, /*tty=*/false);
    for (int s = 1; s <= 25; ++s) r.update(stats(s));
    r.note("valid loss 2.0");
  }
  std::string out = readAll(f);
  std::fclose(f);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  std::istringstream lines(out);
  std::vector<std::string> v;
  for (std::string l; std::getline(lines, l);) v.push_back(l);
  ASSERT_EQ(v.size(), 4u);  // steps 10, 20, 25 (the last) and the note
  EXPECT_EQ(v[0].rfind("step 10/25", 0), 0u);
  EXPECT_EQ(v[1].rfind("step 20/25", 0), 0u);
  EXPECT_EQ(v[2].rfind("step 25/25", 0), 0u);
  EXPECT_EQ(v[3], "valid loss 2.0");
}

TEST(RuntimeProgress, TerminalRedrawsInPlace) {
  std::FILE *f = std::tmpfile();
  {
    ProgressReporter r(3, 10, f, 0, /*tty=*/true);
    r.update(stats(1));
    r.note("hello");
    r.update(stats(3));
  }
  std::string out = readAll(f);
  std::fclose(f);
  EXPECT_EQ(out.rfind("\rstep 1/3", 0), 0u);
  EXPECT_NE(out.find("\x1b[K"), std::string::npos);
  EXPECT_NE(out.find("\r\x1b[Khello\n"), std::string::npos);
  EXPECT_NE(out.find("\rstep 3/3"), std::string::npos);
  EXPECT_EQ(out.back(), '\n');  // finish() ends the line
}

TEST(RuntimeProgress, MetricsJsonl) {
  TempDir d;
  const std::string p = d.file("metrics.jsonl");
  {
    MetricsWriter w(p);
    w.write(stats(1));
    StepStats s = stats(2);
    s.validLoss = 1.5;
    w.write(s);
    // Flushed per row: readable before the writer is closed.
    const std::string sofar = readBytes(p);
    EXPECT_EQ(std::count(sofar.begin(), sofar.end(), '\n'), 2);
  }
  {
    MetricsWriter w(p);  // appends
    StepStats s = stats(3);
    s.loss = std::numeric_limits<double>::quiet_NaN();
    w.write(s);
  }
  std::istringstream lines(readBytes(p));
  std::vector<nlohmann::json> rows;
  for (std::string l; std::getline(lines, l);) rows.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["step"], 1);
  EXPECT_DOUBLE_EQ(rows[0]["loss"].get<double>(), 2.34119);
  EXPECT_DOUBLE_EQ(rows[0]["lr"].get<double>(), 3.1e-4);
  EXPECT_DOUBLE_EQ(rows[0]["tokens_per_s"].get<double>(), 12345);
  EXPECT_DOUBLE_EQ(rows[0]["elapsed_s"].get<double>(), 41);
  EXPECT_FALSE(rows[0].contains("valid_loss"));
  EXPECT_DOUBLE_EQ(rows[1]["valid_loss"].get<double>(), 1.5);
  EXPECT_TRUE(rows[2]["loss"].is_null());
  EXPECT_EQ(MetricsWriter::formatRow(stats(7)).rfind("{\"step\":7,\"loss\":", 0), 0u);
  expectErrorContaining([&] { MetricsWriter w(d.file("no/dir/m.jsonl")); }, {"no/dir/m.jsonl", "No such file"});
}
