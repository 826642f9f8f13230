//===- ProgramFactory.cpp - rebuilding a checkpoint's model ---------------===//

#include "runtime/train/ProgramFactory.h"

#include "runtime/Error.h"
#include "runtime/train/RunCheckpoint.h"


namespace heed::rt {

Precision checkpointPrecision(const RunCheckpoint &rc) {
  const std::string text = rc.meta("heed.precision", "fp32");
  if (std::optional<Precision> p = parsePrecision(text)) return *p;
  throw Error("checkpoint '" + rc.path + "': its metadata 'heed.precision' is '" + text + "', not fp32 or bf16");
}

std::unique_ptr<Program> buildFromCheckpoint(ProgramFactory &factory, const RunCheckpoint &rc, int64_t batch,
                                             const std::vector<std::string> &entries) {
  StoredModelFile file(rc);
  const Precision precision = checkpointPrecision(rc);
  try {
    return factory.build(file.path(), rc.overrides, batch, BuildPurpose::FromCheckpoint, precision, entries);
  } catch (const ReportedError &) {
    throw Error("cannot rebuild the model stored in checkpoint '" + rc.path + "'");
  }
}

}  // namespace heed::rt
