//===- Bf16Source.h - where a bf16 matmul input comes from ------*- C++ -*-===//
//
// Apart from Bf16.h so that rt::LibraryOp can name it without the kernels.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace heed::rt::native {

/// Where a bf16 matmul operand's rounding comes from (Bf16.h, "bf16 copies").
enum class Bf16Source : uint8_t {
  Round,      // round it now into scratch (no other matmul reads it)
  RoundKeep,  // round it now into its copy, kept for the later matmuls that read it
  Copy,       // read the copy that its producer or an earlier matmul of this run wrote
};

}  // namespace heed::rt::native
