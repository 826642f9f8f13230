//===- RunDirectory.cpp - a training run's directory ----------------------===//

#include "runtime/train/RunDirectory.h"

#include "runtime/AtomicFile.h"
#include "runtime/Checkpoint.h"
#include "runtime/Error.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sstream>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace heed::rt {

namespace {

/// The PID written in the lock file, or "" if it cannot be read.
std::string lockHolder(int fd) {
  char buf[32] = {0};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, (size_t)n);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.empty() || !std::all_of(s.begin(), s.end(), ::isdigit)) return "";
  return s;
}

/// Is `name` "<something>.tmp.<pid>"? Then sets pid.
bool temporaryPid(const std::string &name, long &pid) {
  size_t p = name.rfind(".tmp.");
  if (p == std::string::npos || p == 0) return false;
  std::string digits = name.substr(p + 5);
  if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  pid = std::atol(digits.c_str());
  return pid > 0;
}

bool processAlive(long pid) { return ::kill((pid_t)pid, 0) == 0 || errno != ESRCH; }

}  // namespace

RunDirectory::RunDirectory(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  if (fs::exists(dir_, ec) && !fs::is_directory(dir_, ec))
    throw Error("run directory '" + dir_ + "' exists and is not a directory");
  fs::create_directories(dir_, ec);
  if (ec) throw Error("cannot create run directory '" + dir_ + "': " + ec.message());
  const std::string lock = file(".lock");
  lockFd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lockFd_ < 0) throw Error("cannot open lock file '" + lock + "': " + std::strerror(errno));
  if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string pid = lockHolder(lockFd_);
    ::close(lockFd_);
    lockFd_ = -1;
    if (err == EWOULDBLOCK)
      throw Error("run directory '" + dir_ + "' is in use by " + (pid.empty() ? "another process" : "process " + pid) +
                  "; wait for it to finish, or use another directory");
    throw Error("cannot lock '" + lock + "': " + std::strerror(err));
  }
  const std::string pid = std::to_string((long)::getpid()) + "\n";
  if (::ftruncate(lockFd_, 0) != 0 || ::pwrite(lockFd_, pid.data(), pid.size(), 0) != (ssize_t)pid.size())
    throw Error("cannot write lock file '" + lock + "': " + std::strerror(errno));
}

RunDirectory::~RunDirectory() {
  if (lockFd_ >= 0) ::close(lockFd_);  // releases the flock
}

std::string RunDirectory::file(const std::string &name) const { return (fs::path(dir_) / name).string(); }

std::string RunDirectory::checkpointPath(int64_t step) const { return file(checkpointFileName(step)); }

std::vector<int64_t> RunDirectory::checkpointSteps() const { return rt::checkpointSteps(dir_); }

bool RunDirectory::holdsRun() const { return !checkpointSteps().empty() || fs::exists(file("latest")); }

std::string RunDirectory::saveTrainingState(int64_t step, const ParamStore &params,
                                            const std::map<std::string, std::string> &meta, int64_t keep) {
  const std::string path = checkpointPath(step);
  rt::saveTrainingState(path, params, meta);
  writeLatestMarker(dir_, checkpointFileName(step));
  std::vector<int64_t> all = checkpointSteps();
  for (size_t i = 0; i + (size_t)keep < all.size(); ++i) {
    std::error_code ec;
    fs::remove(checkpointPath(all[i]), ec);
  }
  return path;
}

std::string RunDirectory::saveCheckpoint(const std::string &name,
                                         const std::vector<std::pair<std::string, const Tensor *>> &tensors,
                                         const std::map<std::string, std::string> &meta) {
  const std::string path = file(name);
  rt::saveCheckpoint(path, tensors, meta);
  writeLatestMarker(dir_, name);
  return path;
}

std::vector<std::string> RunDirectory::removeStaleTemporaries() {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    long pid = 0;
    if (!temporaryPid(name, pid) || pid == (long)::getpid() || processAlive(pid)) continue;
    std::error_code rec;
    if (fs::remove(e.path(), rec)) removed.push_back(name);
  }
  std::sort(removed.begin(), removed.end());
  return removed;
}

void RunDirectory::truncateMetrics(int64_t step) {
  const std::string path = metricsPath();
  if (!fs::exists(path)) return;
  std::istringstream in(readWholeFile(path, "metrics file"));
  std::string kept, line;
  while (std::getline(in, line)) {
    size_t p = line.find("\"step\":");
    if (p == std::string::npos) continue;
    if (std::atoll(line.c_str() + p + 7) <= step) kept += line + "\n";
  }
  writeFileAtomic(path, kept);
}

MetricsFile::MetricsFile(const std::string &path, bool truncate) : path_(path) {
  f_ = std::fopen(path.c_str(), truncate ? "w" : "a");
  if (!f_) throw Error("cannot open metrics file '" + path + "': " + std::strerror(errno));
}

MetricsFile::~MetricsFile() {
  if (f_) std::fclose(f_);
}

void MetricsFile::write(const StepStats &st, const std::string &extra) {
  std::string row = MetricsWriter::formatRow(st);
  if (!extra.empty() && !row.empty() && row.back() == '}') {
    row.pop_back();
    row += extra + "}";
  }
  row += "\n";
  if (std::fwrite(row.data(), 1, row.size(), f_) != row.size() || std::fflush(f_) != 0)
    throw Error("cannot write metrics file '" + path_ + "': " + std::strerror(errno));
}

}  // namespace heed::rt
