//===- Compile.cpp - `heed compile`: the executable graph artifact ---------===//
//
//   heed compile MODEL.heed -o DIR [--batch N] [--set k=v] [--precision fp32|bf16] [--stats]
//
// Writes DIR (manifest.json, kernels.o, kernels.so; runtime/compiled/Manifest.h)
// that `heed train DIR` runs without MLIR: the runtime loads kernels.so and
// executes the stored schedules (runtime/compiled/ArtifactProgram.h).
// --stats prints the precision and, for train_step (or the first entry): fused kernels,
// library calls, the planned peak of live buffers, matmul FLOPs, the gradient buckets of
// the data-parallel allreduce (runtime/compiled/GradientBuckets.h) and the compile time.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"

#include "compiler/ModelLoader.h"
#include "compiler/compiled/CompiledProgram.h"

#include <cstdio>

namespace heed {

int runCompile(const ModelArgs &m, const std::string &output, bool stats, const std::string &precision) {
  ImportOptions opts;
  if (!parseOverrides(m.sets, opts)) return 1;
  if (m.batch > 0) opts.batch = m.batch;
  if (!precision.empty()) opts.precision = rt::parsePrecision(precision);
  CompileStats st;
  if (!compileArtifact(m.path, opts, output, &st)) return 1;
  if (stats) {
    std::printf("precision: %s\n", rt::precisionName(st.precision));
    std::printf("kernels: %lld (%lld row-split across threads)\n", (long long)st.kernels,
                (long long)st.rowSplitKernels);
    std::printf("library calls: %lld\n", (long long)st.libraryCalls);
    std::printf("planned peak bytes: %lld (%.1f MiB)\n", (long long)st.plannedPeakBytes,
                st.plannedPeakBytes / 1048576.0);
    std::printf("matmul FLOPs per step: %.0f (%.3f GFLOP)\n", st.flopsPerStep, st.flopsPerStep / 1e9);
    if (!st.gradientBuckets.empty()) {
      // The data-parallel allreduce, as steps of train_step's schedule.
      int64_t bytes = 0;
      for (const rt::GradientBucketInfo &b : st.gradientBuckets) bytes += b.bytes;
      std::printf("gradient buckets: %zu (%.2f MiB of gradients; the first 1 MiB, then 25 MiB, in the order the "
                  "schedule produces them)\n",
                  st.gradientBuckets.size(), bytes / 1048576.0);
      for (size_t i = 0; i < st.gradientBuckets.size(); ++i) {
        const rt::GradientBucketInfo &b = st.gradientBuckets[i];
        std::printf("  bucket %zu: %lld gradients, %.2f MiB, after step %lld; %lld steps (%.0f%% of the matmul "
                    "FLOPs) left to hide its allreduce\n",
                    i, (long long)b.gradients, b.bytes / 1048576.0, (long long)b.stepsBefore, (long long)b.stepsAfter,
                    100 * b.flopsAfterShare);
      }
    }
    std::printf("compile time: %.2f s\n", st.compileSeconds);
  }
  std::printf("wrote %s\n", output.c_str());
  return 0;
}

}  // namespace heed
