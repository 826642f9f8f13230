#include "TempDir.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"

#include <filesystem>
#include <stdexcept>

#include <sys/stat.h>

using namespace heed::rt;
using namespace heed::rt::test;
namespace fs = std::filesystem;

namespace {
int countEntries(const std::string &dir) {
  int n = 0;
  for (auto &e : fs::directory_iterator(dir)) (void)e, ++n;
  return n;
}
}  // namespace

TEST(RuntimeAtomicFile, WritesAndReplaces) {
  TempDir d;
  const std::string p = d.file("a.txt");
  writeFileAtomic(p, std::string_view("first"));
  EXPECT_EQ(readBytes(p), "first");
  writeFileAtomic(p, [](std::ostream &os) { os << "second " << 42; });
  EXPECT_EQ(readBytes(p), "second 42");
  EXPECT_EQ(countEntries(d.path()), 1);  // no temp file left behind
  EXPECT_EQ(readWholeFile(p), "second 42");
}

TEST(RuntimeAtomicFile, WriterThrowsLeavesOldFileAndNoTemp) {
  TempDir d;
  const std::string p = d.file("a.txt");
  writeFileAtomic(p, std::string_view("old contents"));
  EXPECT_THROW(writeFileAtomic(p,
                               [](std::ostream &os) {
                                 os << "half of the new cont";
                                 throw std::runtime_error("writer failed");
                               }),
               std::runtime_error);
  EXPECT_EQ(readBytes(p), "old contents");
  EXPECT_EQ(countEntries(d.path()), 1);
}

TEST(RuntimeAtomicFile, WriterThrowsWithNoOldFile) {
  TempDir d;
  EXPECT_THROW(writeFileAtomic(d.file("new.txt"),
                               [](std::ostream &) { throw Error("nope"); }),
               Error);
  EXPECT_EQ(countEntries(d.path()), 0);
}

TEST(RuntimeAtomicFile, MissingDirectoryNamesPathAndErrno) {
  TempDir d;
  const std::string p = d.file("no/such/dir/x.bin");
  expectErrorContaining([&] { writeFileAtomic(p, std::string_view("x")); },
                        {"no/such/dir/x.bin", "No such file or directory"});
}

TEST(RuntimeAtomicFile, ReadWholeFileErrors) {
  TempDir d;
  expectErrorContaining([&] { readWholeFile(d.file("missing"), "data file"); },
                        {"data file", "missing", "No such file"});
  expectErrorContaining([&] { readWholeFile(d.path()); }, {"Is a directory"});
}

// A FIFO with no writer would block open() forever and /dev/zero never ends:
// both are refused at once, naming what they are.
TEST(RuntimeAtomicFile, ReadWholeFileRefusesNonRegularFiles) {
  TempDir d;
  const std::string fifo = d.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expectErrorContaining([&] { readWholeFile(fifo, "data file"); },
                        {"cannot read data file '", "fifo': it is a FIFO (named pipe), not a regular file"});
  expectErrorContaining([&] { readWholeFile("/dev/zero", "data file"); },
                        {"'/dev/zero': it is a character device, not a regular file",
                         "save the stream to a file first"});
}

TEST(RuntimeAtomicFile, ReadTextFileStripsByteOrderMark) {
  TempDir d;
  writeBytes(d.file("bom.txt"), "\xEF\xBB\xBFhello");
  EXPECT_EQ(readTextFile(d.file("bom.txt")), "hello");
  EXPECT_EQ(readWholeFile(d.file("bom.txt")), "\xEF\xBB\xBFhello");  // binary reads keep every byte
  writeBytes(d.file("mid.txt"), "a\xEF\xBB\xBF");                   // only a leading mark is one
  EXPECT_EQ(readTextFile(d.file("mid.txt")), "a\xEF\xBB\xBF");
  EXPECT_EQ(stripUtf8Bom("\xEF\xBB"), "\xEF\xBB");
}

TEST(RuntimeAtomicFile, LargeStreamedWrite) {
  TempDir d;
  const std::string p = d.file("big.bin");
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = (char)(i * 7);
  writeFileAtomic(p, [&](std::ostream &os) {
    for (size_t i = 0; i < big.size(); i += 1000) os.write(big.data() + i, 1000);
  });
  EXPECT_EQ(readBytes(p), big);
}
