//===- ProgramFactory.cpp - rebuilding a checkpoint's model ---------------===//

#include "runtime/train/ProgramFactory.h"

#include "runtime/Error.h"
#include "runtime/train/RunCheckpoint.h"


namespace heed::rt {

std::unique_ptr<Program> buildFromCheckpoint(ProgramFactory &factory, const RunCheckpoint &rc, int64_t batch) {
  StoredModelFile file(rc);
  try {
    return factory.build(file.path(), rc.overrides, batch, BuildPurpose::FromCheckpoint);
  } catch (const ReportedError &) {
    throw Error("cannot rebuild the model stored in checkpoint '" + rc.path + "'");
  }
}

}  // namespace heed::rt
