//===- AtomicFile.cpp - crash-safe file writes ----------------------------===//

#include "runtime/AtomicFile.h"

#include "runtime/Error.h"

#include <fmt/format.h>

#include <cerrno>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <streambuf>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace heed::rt {

namespace {

std::string errnoText(int err) { return std::strerror(err); }

/// A std::streambuf writing to a POSIX file descriptor. Remembers the first errno.
class FdStreamBuf : public std::streambuf {
public:
  explicit FdStreamBuf(int fd) : fd_(fd), buf_(1 << 16) { setp(buf_.data(), buf_.data() + buf_.size()); }
  int error() const { return error_; }

  /// Writes out what is buffered; false on failure (error() has the errno).
  bool flushBuffer() {
    const char *p = pbase();
    size_t n = (size_t)(pptr() - pbase());
    while (n > 0 && !error_) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        error_ = errno;
        break;
      }
      p += w;
      n -= (size_t)w;
    }
    setp(buf_.data(), buf_.data() + buf_.size());
    return !error_;
  }

protected:
  int_type overflow(int_type ch) override {
    if (!flushBuffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  std::streamsize xsputn(const char *s, std::streamsize count) override {
    std::streamsize done = 0;
    while (done < count) {
      std::streamsize room = epptr() - pptr();
      if (room == 0) {
        if (!flushBuffer()) return done;
        continue;
      }
      std::streamsize k = std::min(room, count - done);
      std::memcpy(pptr(), s + done, (size_t)k);
      pbump((int)k);
      done += k;
    }
    return done;
  }
  int sync() override { return flushBuffer() ? 0 : -1; }

private:
  int fd_;
  int error_ = 0;
  std::vector<char> buf_;
};

std::string parentDir(const std::string &path) {
  std::filesystem::path p(path);
  std::string dir = p.parent_path().string();
  return dir.empty() ? std::string(".") : dir;
}

}  // namespace

void writeFileAtomic(const std::string &path, const std::function<void(std::ostream &)> &writer) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, (long)::getpid());
  auto fail = [&](const char *what, int err) {
    throw Error(fmt::format("cannot write '{}': {} ({})", path, errnoText(err), what));
  };

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) fail("creating the temporary file", errno);

  // From here on, any failure removes the temporary file.
  auto cleanup = [&] {
    if (fd >= 0) ::close(fd);
    fd = -1;
    ::unlink(tmp.c_str());
  };
  try {
    FdStreamBuf sb(fd);
    {
      std::ostream os(&sb);
      writer(os);
      os.flush();
      if (!os.good() || !sb.flushBuffer())
        fail("writing", sb.error() ? sb.error() : EIO);
    }
    if (::fsync(fd) != 0) fail("fsync", errno);
    int rc = ::close(fd);
    fd = -1;
    if (rc != 0) fail("close", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", errno);
  } catch (...) {
    cleanup();
    throw;
  }

  // The new file is in place; make the rename durable. Some filesystems do not
  // support fsync on directories (EINVAL): that is not an error.
  const std::string dir = parentDir(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail("opening the directory to fsync it", errno);
  if (::fsync(dfd) != 0 && errno != EINVAL && errno != EROFS) {
    int err = errno;
    ::close(dfd);
    fail("fsync of the directory", err);
  }
  ::close(dfd);
}

void writeFileAtomic(const std::string &path, std::string_view bytes) {
  writeFileAtomic(path, [&](std::ostream &os) { os.write(bytes.data(), (std::streamsize)bytes.size()); });
}

namespace {
const char *fileKind(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "a special file";
}

/// Opens `path` for reading if it is a regular file; throws rt::Error otherwise.
int openRegularFile(const std::string &path, const char *what, struct stat &st) {
  auto fail = [&](int err) {
    throw Error(fmt::format("cannot read {} '{}': {}", what, path, errnoText(err)));
  };
  // O_NONBLOCK: opening a FIFO that has no writer would otherwise block forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(errno);
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail(err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail(EISDIR);
  }
  // Only regular files: a FIFO can block forever and a device like /dev/zero never
  // ends, and every reader here needs the whole file (sizes, windows, checksums).
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("cannot read {} '{}': it is {}, not a regular file; heed reads the whole "
                            "file, so save the stream to a file first",
                            what, path, fileKind(st.st_mode)));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

/// Reads up to `limit` bytes from fd (all of it if limit is SIZE_MAX), then closes it.
std::string readFd(int fd, const std::string &path, const char *what, size_t limit, size_t expected) {
  std::string out;
  out.reserve(std::min(limit, expected));
  char buf[1 << 16];
  while (out.size() < limit) {
    ssize_t r = ::read(fd, buf, std::min(sizeof buf, limit - out.size()));
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw Error(fmt::format("cannot read {} '{}': {}", what, path, errnoText(err)));
    }
    if (r == 0) break;
    out.append(buf, (size_t)r);
  }
  ::close(fd);
  return out;
}
}  // namespace

std::string readWholeFile(const std::string &path, const char *what) {
  struct stat st;
  int fd = openRegularFile(path, what, st);
  return readFd(fd, path, what, SIZE_MAX, (size_t)st.st_size);
}

void requireReadableFile(const std::string &path, const char *what) {
  struct stat st;
  ::close(openRegularFile(path, what, st));
}

std::string readFilePrefix(const std::string &path, const char *what, size_t maxBytes, uint64_t &fileSize) {
  struct stat st;
  int fd = openRegularFile(path, what, st);
  fileSize = (uint64_t)st.st_size;
  return readFd(fd, path, what, maxBytes, (size_t)st.st_size);
}
std::string_view stripUtf8Bom(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return text;
}

std::string readTextFile(const std::string &path, const char *what) {
  std::string text = readWholeFile(path, what);
  if (stripUtf8Bom(text).size() != text.size()) text.erase(0, 3);
  return text;
}

}  // namespace heed::rt
