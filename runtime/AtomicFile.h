//===- AtomicFile.h - crash-safe file writes and whole-file reads -*- C++ -*-===//
//
// writeFileAtomic writes `path` so that a reader (or a crash, or a full disk)
// only ever sees the old contents or the complete new contents, never a
// half-written file:
//
//   1. write to `<path>.tmp.<pid>` in the same directory (same filesystem),
//   2. fsync that file, close it,
//   3. rename it over `path` (atomic on POSIX),
//   4. fsync the directory so the rename itself is durable.
//
// On any failure the temporary file is removed. I/O failures throw rt::Error
// naming the path and the errno text; an exception thrown by the writer
// callback is propagated unchanged (after the clean-up).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace heed::rt {

/// Streams the new contents through `writer`. The stream is unbuffered-to-disk
/// until the writer returns; if the stream goes bad or the writer throws, the
/// old file (if any) is left untouched.
void writeFileAtomic(const std::string &path, const std::function<void(std::ostream &)> &writer);

/// Byte-buffer variant.
void writeFileAtomic(const std::string &path, std::string_view bytes);

/// Reads a whole regular file. Errors (missing, unreadable, a directory) throw
/// rt::Error "cannot read <what> '<path>': <errno text>"; a FIFO, a device
/// (/dev/zero never ends) or a socket is refused without blocking on it.
std::string readWholeFile(const std::string &path, const char *what = "file");

/// Throws what readWholeFile would for `path` if it is not a readable regular file,
/// reading nothing: for inputs checked before slow work (a compile) that reads them later.
void requireReadableFile(const std::string &path, const char *what = "file");

/// The first `maxBytes` bytes of a regular file (fewer if it is shorter), and its
/// size in `fileSize`; errors as readWholeFile.
std::string readFilePrefix(const std::string &path, const char *what, size_t maxBytes, uint64_t &fileSize);

/// `text` without a leading UTF-8 byte-order mark (EF BB BF), which editors on
/// Windows write and which is no part of the text.
std::string_view stripUtf8Bom(std::string_view text);

/// readWholeFile, then stripUtf8Bom: what the text and TSV data readers use, so a
/// byte-order mark never becomes a symbol (or a byte of training data).
std::string readTextFile(const std::string &path, const char *what = "file");

}  // namespace heed::rt
