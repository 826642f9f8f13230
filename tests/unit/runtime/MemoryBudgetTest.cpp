// The memory check on hand-made needs: sizes, the limit override, and the flag it
// names for the largest tensor.
#include "TempDir.h"

#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace heed::rt;
using heed::rt::test::expectErrorContaining;

namespace {
struct EnvLimit {
  explicit EnvLimit(const char *v) { setenv("HEED_MEMORY_LIMIT", v, 1); }
  ~EnvLimit() { unsetenv("HEED_MEMORY_LIMIT"); }
};
}  // namespace

TEST(RuntimeMemoryBudget, Sizes) {
  EXPECT_EQ(formatMemorySize(512), "512 bytes");
  EXPECT_EQ(formatMemorySize(1536), "1.5 KiB");
  EXPECT_EQ(formatMemorySize(int64_t(3) << 40), "3.0 TiB");
  EXPECT_EQ((TensorNeed{"", DType::F32, {1000000000, 128}}.bytes()), 512000000000);
  EXPECT_EQ((TensorNeed{"", DType::F32, {1LL << 31, 1LL << 31, 1LL << 31}}.bytes()), INT64_MAX);  // saturates
}

TEST(RuntimeMemoryBudget, LimitFromEnvironment) {
  {
    EnvLimit e("64G");
    EXPECT_EQ(availableMemory().bytes, int64_t(64) << 30);
    EXPECT_EQ(availableMemory().source, "HEED_MEMORY_LIMIT");
  }
  {
    EnvLimit e("1.5GiB");
    EXPECT_EQ(availableMemory().bytes, int64_t(3) << 29);
  }
  {
    EnvLimit e("off");
    EXPECT_EQ(availableMemory().bytes, -1);
  }
  {
    EnvLimit e("12 parsecs");
    expectErrorContaining([] { availableMemory(); }, {"HEED_MEMORY_LIMIT='12 parsecs' is not a size"});
  }
  MemoryLimit m = availableMemory();  // /proc/meminfo exists on Linux
  EXPECT_GT(m.bytes, 0);
  EXPECT_FALSE(m.source.empty());
}

TEST(RuntimeMemoryBudget, RefusesNamingTheLargestTensorAndItsFlag) {
  ModelInfo info;
  info.name = "m";
  info.config = {{"vocab", 1000}, {"d_model", 64}, {"batch", 8}};
  info.overrides = {{"vocab", "1000"}};
  MemoryNeed need = parameterNeed({{"embedding.weight", {1000, 64}, "", false}, {"b", {64}, "", true}}, true);
  EXPECT_EQ(need.paramBytes, (1000 * 64 + 64) * 4);
  EXPECT_EQ(need.optimizerBytes, 2 * 1000 * 64 * 4);  // frozen 'b' has no moments
  MemoryLimit limit{1 << 20, "test"};
  checkMemory(need, limit, info, "train");  // 768 KiB fits in 1 MiB
  need.activationBytes = 1 << 20;
  need.activationEntry = "train_step";
  expectErrorContaining([&] { checkMemory(need, limit, info, "train"); },
                        {"model 'm' needs about 1.7 MiB to train (parameters 250.2 KiB, Adam's moments 500.0 KiB, "
                         "train_step values 1.0 MiB), but 1.0 MiB is available (test)",
                         "its largest tensor is parameter 'embedding.weight' f32 [1000, 64] (250.0 KiB): lower it "
                         "with --set vocab=N (now 1000)"});
  need.consider({"a value of train_step", DType::F32, {8, 1000, 64}});
  info.overrides.clear();  // nothing set by the user: the largest dimension
  expectErrorContaining([&] { checkMemory(need, limit, info, "train"); },
                        {"f32 [8, 1000, 64] (2.0 MiB): lower it with --set vocab=N (now 1000)"});
  info.overrides = {{"batch", "8"}};
  expectErrorContaining([&] { checkMemory(need, limit, info, "train"); }, {"lower it with --batch (now 8)"});
  // A batch that is the largest dimension is named over smaller --set entries.
  info.config = {{"vocab", 256}, {"d_model", 16}, {"seq", 16}, {"batch", 100000000}};
  info.overrides = {{"d_model", "16"}, {"seq", "16"}};
  need.consider({"a value of train_step", DType::F32, {100000000, 16, 256}});
  expectErrorContaining([&] { checkMemory(need, limit, info, "train"); }, {"lower it with --batch (now 100000000)"});
  checkMemory(need, MemoryLimit{}, info, "train");  // no limit: no check
}
