#include "TempDir.h"

#include "runtime/Error.h"
#include "runtime/train/Schedule.h"

#include <cmath>

using namespace heed::rt;
using namespace heed::rt::test;

TEST(RuntimeSchedule, ParseNames) {
  EXPECT_EQ(parseScheduleKind("noam"), ScheduleKind::Noam);
  EXPECT_EQ(parseScheduleKind("cosine"), ScheduleKind::Cosine);
  EXPECT_EQ(parseScheduleKind("constant"), ScheduleKind::Constant);
  expectErrorContaining([] { parseScheduleKind("linear"); }, {"'linear'", "noam", "cosine", "constant"});
}

TEST(RuntimeSchedule, NoamPeaksAtWarmupWithGivenPeak) {
  ScheduleConfig c;
  c.kind = ScheduleKind::Noam;
  c.peak = 1e-3f;
  c.warmup = 100;
  LrSchedule s(c);
  EXPECT_FLOAT_EQ(s.lrAt(100), 1e-3f);
  EXPECT_FLOAT_EQ(s.lrAt(1), 1e-5f);
  EXPECT_FLOAT_EQ(s.lrAt(50), 5e-4f);
  EXPECT_FLOAT_EQ(s.lrAt(400), 5e-4f);  // sqrt(100 / 400) = 0.5
  for (int64_t st : {1, 50, 99, 101, 200, 10000}) EXPECT_LT(s.lrAt(st), s.lrAt(100));
  EXPECT_THROW(s.lrAt(0), Error);
}

TEST(RuntimeSchedule, NoamPaperDefault) {
  ScheduleConfig c;  // noam, warmup 4000, d_model 512, no peak
  LrSchedule s(c);
  // d^-0.5 * min(step^-0.5, step * warmup^-1.5)
  for (int64_t st : {1, 1000, 4000, 10000}) {
    double want = std::pow(512.0, -0.5) * std::min(std::pow((double)st, -0.5), st * std::pow(4000.0, -1.5));
    EXPECT_NEAR(s.lrAt(st), want, want * 1e-6) << st;
  }
  EXPECT_NEAR(s.peak(), 0.000698771, 1e-8);
}

/// Cosine, peak 0.01, warm-up 10 steps, decay ending at step 110 (floor 0.1 unless changed).
static ScheduleConfig cosine10To110() {
  ScheduleConfig c;
  c.kind = ScheduleKind::Cosine;
  c.peak = 0.01f;
  c.warmup = 10;
  c.total = 110;
  return c;
}

TEST(RuntimeSchedule, CosineEndpoints) {
  ScheduleConfig c = cosine10To110();
  LrSchedule s(c);
  EXPECT_FLOAT_EQ(s.lrAt(1), 0.001f);
  EXPECT_FLOAT_EQ(s.lrAt(5), 0.005f);
  EXPECT_FLOAT_EQ(s.lrAt(10), 0.01f);
  EXPECT_FLOAT_EQ(s.lrAt(60), 0.0055f);  // halfway: (peak + floor) / 2
  EXPECT_FLOAT_EQ(s.lrAt(110), 0.001f);
  EXPECT_FLOAT_EQ(s.lrAt(500), 0.001f);
  c.total = 10;
  EXPECT_THROW(LrSchedule{c}, Error);
  c.total = 110;
  c.peak = 0;
  expectErrorContaining([&] { LrSchedule{c}; }, {"cosine", "peak"});
}

TEST(RuntimeSchedule, CosineFloorIsAFractionOfThePeak) {
  ScheduleConfig c = cosine10To110();
  c.floor = 0;  // decay to zero
  LrSchedule zero(c);
  EXPECT_FLOAT_EQ(zero.lrAt(10), 0.01f);
  EXPECT_FLOAT_EQ(zero.lrAt(60), 0.005f);
  EXPECT_FLOAT_EQ(zero.lrAt(110), 0.0f);
  EXPECT_FLOAT_EQ(zero.lrAtProgress(200, 0.5), 0.005f);
  EXPECT_NE(zero.describe().find("floor 0.0e+00"), std::string::npos) << zero.describe();
  c.floor = 0.5;
  LrSchedule half(c);
  EXPECT_FLOAT_EQ(half.lrAt(60), 0.0075f);
  EXPECT_FLOAT_EQ(half.lrAt(500), 0.005f);
  EXPECT_NE(half.describe().find("floor 5.0e-03"), std::string::npos) << half.describe();
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    c.floor = bad;
    expectErrorContaining([&] { LrSchedule{c}; }, {"floor", "[0, 1]"});
  }
}

TEST(RuntimeSchedule, ConstantWithWarmup) {
  ScheduleConfig c;
  c.kind = ScheduleKind::Constant;
  c.peak = 0.5f;
  c.warmup = 0;
  LrSchedule s(c);
  EXPECT_FLOAT_EQ(s.lrAt(1), 0.5f);
  EXPECT_FLOAT_EQ(s.lrAt(1000), 0.5f);
  c.warmup = 4;
  LrSchedule w(c);
  EXPECT_FLOAT_EQ(w.lrAt(1), 0.125f);
  EXPECT_FLOAT_EQ(w.lrAt(4), 0.5f);
  EXPECT_FLOAT_EQ(w.lrAt(5), 0.5f);
}
