//===- Manifest.h - what a compiled artifact holds --------------*- C++ -*-===//
//
// `heed compile MODEL.heed -o DIR` writes DIR/manifest.json (this struct as
// JSON), DIR/kernels.o (the generated kernels, a PIC object for the host CPU)
// and DIR/kernels.so (that object linked as a shared library). manifest.json:
//
//   {
//     "format": "heed-artifact", "version": 2,
//     "model": {"name", "source_path", "source", "config": {k: number},
//               "train": {k: text}, "overrides": {k: text},
//               "precision": "fp32" | "bf16"},   // absent: fp32 (Precision.h)
//     "target": {"triple", "cpu"},          // what kernels.o was compiled for
//     "kernels": {"library": "kernels.so", "library_bytes", "library_sha256",
//                 "object": "kernels.o", "symbols": [..]},
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
// The loader checks kernels.so's size and SHA-256 against the manifest before
// dlopen: a truncated or corrupted library would otherwise crash the process
// (SIGBUS, SIGILL) in the dynamic loader or in the first kernel it runs.
// Version 2 added that checksum; version 1 artifacts must be recompiled.
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

constexpr int kArtifactVersion = 2;

struct Manifest {
  int version = kArtifactVersion;
  ModelInfo info;
  std::string targetTriple, targetCpu;
  std::string kernelLibrary = "kernels.so", kernelObject = "kernels.o";
  int64_t kernelLibraryBytes = 0;
  std::string kernelLibrarySha256;  // lower-case hex (runtime/Sha256.h)
  std::vector<std::string> kernelSymbols;
  std::vector<ParamSpec> params;
  std::vector<EntrySpec> entries;
  std::map<std::string, Plan> plans;  // by entry name
  double compileSeconds = 0;
};

nlohmann::json manifestToJson(const Manifest &m);
/// Throws rt::Error naming `file` on a malformed manifest or an unsupported version.
Manifest manifestFromJson(const nlohmann::json &j, const std::string &file);

/// Fills m.kernelLibraryBytes and m.kernelLibrarySha256 from the file `library`.
void recordKernelLibrary(Manifest &m, const std::string &library);

/// Throws rt::Error naming `library` and saying to recompile when its size or
/// SHA-256 differs from what the manifest recorded.
void verifyKernelLibrary(const Manifest &m, const std::string &library);

}  // namespace heed::rt
