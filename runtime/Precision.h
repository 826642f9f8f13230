//===- Precision.h - the arithmetic precision of a program's matmuls -*- C++ -*-===//
//
// A program is compiled at one precision (docs/PRECISION.md):
//
//   fp32  every op in float32 (the default);
//   bf16  mixed precision: each matmul rounds its two inputs (activations and
//         weights) to bfloat16, round-to-nearest-even, multiplies them with
//         float32 accumulation and writes a float32 result. Everything else
//         (layer norm, softmax, the loss, reductions, the optimizer and the
//         master weights) stays float32.
//
// The reference interpreter applies the same rounding (roundToBf16), so the
// compiled backend stays checkable against it at bf16. No MLIR here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace heed::rt {

enum class Precision : uint8_t { F32, BF16 };

/// "fp32" or "bf16": the spelling of flags, train blocks, checkpoints and manifests.
inline const char *precisionName(Precision p) { return p == Precision::BF16 ? "bf16" : "fp32"; }

/// nullopt for anything but "fp32" or "bf16".
inline std::optional<Precision> parsePrecision(std::string_view s) {
  if (s == "fp32") return Precision::F32;
  if (s == "bf16") return Precision::BF16;
  return std::nullopt;
}

/// The bfloat16 bits of x, rounded to nearest even (NaN stays a quiet NaN).
inline uint16_t toBf16Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

inline float bf16BitsToFloat(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

/// x rounded to the nearest bfloat16 (ties to even), as a float.
inline float roundToBf16(float x) { return bf16BitsToFloat(toBf16Bits(x)); }

}  // namespace heed::rt
