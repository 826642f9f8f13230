//===- Manifest.h - what a compiled artifact holds --------------*- C++ -*-===//
//
// `heed compile MODEL.heed -o DIR` writes DIR/manifest.json (this struct as
// JSON), DIR/kernels.o (the generated kernels, a PIC object for the host CPU)
// and DIR/kernels.so (that object linked as a shared library). manifest.json:
//
//   {
//     "format": "heed-artifact", "version": 1,
//     "model": {"name", "source_path", "source", "config": {k: number},
//               "train": {k: text}, "overrides": {k: text}},
//     "target": {"triple", "cpu"},          // what kernels.o was compiled for
//     "kernels": {"library": "kernels.so", "object": "kernels.o", "symbols": [..]},
//     "params": [{"name", "shape", "init", "frozen"}],
//     "entries": [{"name", "inputs": [T], "outputs": [T], "loss_index",
//                  "schedule": Plan}],      // Plan: see Executor.cpp toJson
//     "stats": {"compile_seconds"}
//   }
//   T = {"name", "dtype", "shape", "dims", "id_limit"}
//   Plan = {"entry", "values": [[dtype, shape]...], "inputs": [id], "outputs": [id],
//           "steps": [{"kernel": sym | "library": LibraryOp, "in": [id], "out": [id]}],
//           "stats": {"kernels", "library_calls", "matmul_flops", "planned_peak_bytes"}}
//
// A kernel `k` is called through its packed entry `k_packed(void **args)`.
// An artifact's batch is fixed: its train settings hold it ("train"."batch").
// No MLIR here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Program.h"
#include "runtime/compiled/Executor.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>
#include <vector>

namespace heed::rt {

constexpr int kArtifactVersion = 1;

struct Manifest {
  int version = kArtifactVersion;
  ModelInfo info;
  std::string targetTriple, targetCpu;
  std::string kernelLibrary = "kernels.so", kernelObject = "kernels.o";
  std::vector<std::string> kernelSymbols;
  std::vector<ParamSpec> params;
  std::vector<EntrySpec> entries;
  std::map<std::string, Plan> plans;  // by entry name
  double compileSeconds = 0;
};

nlohmann::json manifestToJson(const Manifest &m);
/// Throws rt::Error naming `file` on a malformed manifest or an unsupported version.
Manifest manifestFromJson(const nlohmann::json &j, const std::string &file);

}  // namespace heed::rt
