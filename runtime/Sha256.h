//===- Sha256.h - SHA-256 of a byte string (FIPS 180-4) ---------*- C++ -*-===//
//
// The checksum a compiled artifact's manifest records for its kernel library
// (runtime/compiled/Manifest.h), so that a truncated or corrupted kernels.so is
// refused before dlopen instead of crashing with SIGBUS or SIGILL. SHA-256 and
// not a shorter hash so that `sha256sum kernels.so` shows the same digest.
// No dependencies: the runtime links neither LLVM nor OpenSSL.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <string_view>

namespace heed::rt {

/// Lower-case hex SHA-256 digest (64 characters) of `bytes`.
std::string sha256Hex(std::string_view bytes);

}  // namespace heed::rt
