//===- ProgramFactory.cpp - rebuilding a checkpoint's model ---------------===//

#include "runtime/train/ProgramFactory.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"
#include "runtime/train/RunCheckpoint.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace heed::rt {

std::unique_ptr<Program> buildFromCheckpoint(ProgramFactory &factory, const RunCheckpoint &rc, int64_t batch) {
  std::string base = fs::temp_directory_path().string() + "/heed-model-XXXXXX";
  std::vector<char> tmpl(base.begin(), base.end());
  tmpl.push_back('\0');
  if (!mkdtemp(tmpl.data()))
    throw Error("cannot create a temporary directory in " + fs::temp_directory_path().string());
  std::string dir = tmpl.data();
  std::string name = fs::path(rc.modelFile).filename().string();
  if (name.empty() || name == "." || name == "..") name = "model.heed";
  std::string file = dir + "/" + name;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  writeFileAtomic(file, rc.source);
  try {
    return factory.build(file, rc.overrides, batch);
  } catch (const ReportedError &) {
    throw Error("cannot rebuild the model stored in checkpoint '" + rc.path + "'");
  }
}

}  // namespace heed::rt
