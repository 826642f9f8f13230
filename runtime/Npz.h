//===- Npz.h - NumPy .npz archives <-> named tensors ------------*- C++ -*-===//
//
// An .npz file is a zip archive with one .npy file per array, the member
// "NAME.npy" holding array NAME. heed reads stored members (np.savez) and
// deflated ones (np.savez_compressed, inflated with zlib), and writes stored
// members; other zip methods are rejected with an error naming the method.
//
// Reading checks the zip structure (end-of-central-directory record, central
// directory entries, local headers, ZIP64 sizes and offsets as numpy writes
// them for large arrays), each member's CRC-32, and then each .npy (Npy.h).
// Errors throw rt::Error "npz '<path>': <what is wrong>". Writing is atomic
// (writeFileAtomic) and refuses archives of 4 GiB or more (no ZIP64 on write).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace heed::rt {

/// Named arrays in archive order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// Reads an .npz file.
NamedTensors readNpz(const std::string &path);
/// Parses the bytes of an .npz file; `name` is used in error messages.
NamedTensors parseNpz(std::string_view bytes, const std::string &name = "<memory>");

/// The bytes of an .npz holding `arrays` (names must be unique and non-empty).
std::string encodeNpz(const NamedTensors &arrays);
/// Writes an .npz atomically.
void writeNpz(const std::string &path, const NamedTensors &arrays);

/// The CRC-32 (IEEE 802.3, as zip and zlib compute it) of `bytes`.
uint32_t crc32(std::string_view bytes);

}  // namespace heed::rt
