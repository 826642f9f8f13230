//===- Compile.cpp - `heed compile`: the executable graph artifact ---------===//
//
//   heed compile MODEL.heed -o DIR [--batch N] [--set k=v] [--precision fp32|bf16] [--stats]
//
// Writes DIR (manifest.json, kernels.o, kernels.so; runtime/compiled/Manifest.h)
// that `heed train DIR` runs without MLIR: the runtime loads kernels.so and
// executes the stored schedules (runtime/compiled/ArtifactProgram.h).
// --stats prints the precision and, for train_step (or the first entry): fused kernels, library
// calls, the planned peak of live buffers, matmul FLOPs, and the compile time.
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
    std::printf("compile time: %.2f s\n", st.compileSeconds);
  }
  std::printf("wrote %s\n", output.c_str());
  return 0;
}

}  // namespace heed
