//===- RunDirectoryTest.cpp - the run directory without a trainer ---------===//
//
// The lock (a second opener fails naming the holder, and succeeds once the
// first is gone), checkpoint rotation, the `latest` marker, removal of
// temporaries of dead processes only, and metrics rows.
//
//===----------------------------------------------------------------------===//

#include "runtime/Checkpoint.h"
#include "runtime/Error.h"
#include "runtime/train/RunDirectory.h"
#include "tests/unit/runtime/TempDir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

namespace heed::rt {
namespace {

using test::expectErrorContaining;
using test::readBytes;
using test::TempDir;
using test::writeBytes;

ParamStore oneParam(float v) {
  ParamStore s;
  Param &p = s.add("w", {2}, "zeros", false);
  p.value.f32()[0] = v;
  p.value.f32()[1] = -v;
  return s;
}

/// The PID of a process that has exited (and been reaped).
long deadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return (long)pid;
}

TEST(RunDirectory, SecondOpenerIsRefusedWithTheHoldersPid) {
  TempDir t;
  const std::string dir = t.file("run");
  {
    RunDirectory first(dir);
    EXPECT_TRUE(std::filesystem::is_directory(dir));
    expectErrorContaining([&] { RunDirectory second(dir); },
                          {"run directory", "is in use by process", std::to_string((long)::getpid()).c_str()});
  }
  RunDirectory again(dir);  // released with the first
  EXPECT_EQ(again.path(), dir);
}

TEST(RunDirectory, LockIsHeldAcrossProcesses) {
  TempDir t;
  const std::string dir = t.file("run");
  RunDirectory mine(dir);
  pid_t pid = ::fork();
  if (pid == 0) {
    try {
      RunDirectory theirs(dir);
      ::_exit(0);  // wrongly got the lock
    } catch (const Error &e) {
      ::_exit(std::string(e.what()).find("in use by process " + std::to_string((long)::getppid())) !=
                      std::string::npos
                  ? 3
                  : 1);
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST(RunDirectory, RotationKeepsTheNewestAndPointsLatestAtIt) {
  TempDir t;
  RunDirectory d(t.file("run"));
  EXPECT_FALSE(d.holdsRun());
  for (int64_t step = 1; step <= 5; ++step) d.saveTrainingState(step, oneParam((float)step), {{"heed.step", std::to_string(step)}}, 2);
  EXPECT_EQ(d.checkpointSteps(), (std::vector<int64_t>{4, 5}));
  EXPECT_TRUE(d.holdsRun());
  EXPECT_EQ(readBytes(d.file("latest")), "ckpt-5.safetensors\n");
  Checkpoint c = loadCheckpoint(resolveCheckpointPath(d.path()));
  EXPECT_EQ(c.metadata.at("heed.step"), "5");
  EXPECT_EQ(c.tensors.at("param/w").f32()[0], 5.0f);
}

TEST(RunDirectory, RemovesOnlyTemporariesOfDeadProcesses) {
  TempDir t;
  RunDirectory d(t.file("run"));
  const long dead = deadPid();
  const std::string stale = "ckpt-7.safetensors.tmp." + std::to_string(dead);
  const std::string live = "ckpt-8.safetensors.tmp." + std::to_string((long)::getppid());
  const std::string mine = "latest.tmp." + std::to_string((long)::getpid());
  for (const std::string &f : {stale, live, mine, std::string("notes.tmp.x")}) writeBytes(d.file(f), "x");
  EXPECT_EQ(d.removeStaleTemporaries(), std::vector<std::string>{stale});
  EXPECT_FALSE(std::filesystem::exists(d.file(stale)));
  for (const std::string &f : {live, mine, std::string("notes.tmp.x")}) EXPECT_TRUE(std::filesystem::exists(d.file(f))) << f;
}

TEST(RunDirectory, MetricsRowsAndTruncation) {
  TempDir t;
  RunDirectory d(t.file("run"));
  {
    MetricsFile m(d.metricsPath(), /*truncate=*/true);
    for (int64_t s = 1; s <= 4; ++s) {
      StepStats st;
      st.step = s;
      st.loss = 1.0 / (double)s;
      m.write(st, s == 4 ? ",\"valid_wer\":0.5" : "");
    }
  }
  std::string rows = readBytes(d.metricsPath());
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 4);
  EXPECT_NE(rows.find("{\"step\":1,\"loss\":1"), std::string::npos) << rows;
  EXPECT_NE(rows.find("\"valid_wer\":0.5}"), std::string::npos) << rows;
  d.truncateMetrics(2);
  rows = readBytes(d.metricsPath());
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 2);
  EXPECT_EQ(rows.find("\"step\":3"), std::string::npos);
}

TEST(RunDirectory, RefusesAFileInTheWay) {
  TempDir t;
  writeBytes(t.file("file"), "x");
  expectErrorContaining([&] { RunDirectory d(t.file("file")); }, {"exists and is not a directory"});
}

}  // namespace
}  // namespace heed::rt
