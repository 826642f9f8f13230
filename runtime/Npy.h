//===- Npy.h - NumPy .npy files <-> Tensor ----------------------*- C++ -*-===//
//
// Reads and writes the NumPy .npy format (versions 1.0, 2.0 and 3.0 on read;
// writes 1.0, or 2.0 when the header does not fit in 64 KiB), C order only,
// little-endian:
//
//   '<f4' <-> F32,  '<i4' <-> I32,  '<i8' <-> I64,  '|b1' <-> Bool
//
// Anything else (bad magic, unknown version, big-endian or unsupported dtype,
// fortran_order True, a malformed header dict, truncated or trailing data, a
// header larger than 1 MiB, bool bytes other than 0/1) throws rt::Error
// "npy '<name>': <what is wrong>".
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <string>
#include <string_view>

namespace heed::rt {

/// What a .npy header declares, checked against the file's size.
struct NpyInfo {
  DType dtype = DType::F32;
  Shape shape;
  uint64_t dataOffset = 0, dataBytes = 0;
};

/// Reads a .npy file.
Tensor readNpy(const std::string &path);
/// Reads only the header of a .npy file (the data is not read, its size is
/// checked): what `heed check` uses to check a `load("x.npy")` initializer.
NpyInfo readNpyInfo(const std::string &path);
/// Parses the header at the start of `bytes`, the first bytes of a file of
/// `fileSize` bytes.
NpyInfo parseNpyHeader(std::string_view bytes, uint64_t fileSize, const std::string &name = "<memory>");
/// Parses the bytes of a .npy file; `name` is used in error messages.
Tensor parseNpy(std::string_view bytes, const std::string &name = "<memory>");

/// The bytes of a .npy file holding t.
std::string encodeNpy(const Tensor &t);
/// Writes t to path atomically (writeFileAtomic).
void writeNpy(const std::string &path, const Tensor &t);

}  // namespace heed::rt
