//===- Program.cpp - helpers shared by every backend ----------------------===//

#include "runtime/Program.h"

namespace heed::rt {

ParamStore createParams(const Program &program, uint64_t seed, const std::string &baseDir) {
  ParamStore store;
  for (const ParamSpec &p : program.params()) store.add(p.name, p.shape, p.init, p.frozen);
  store.initializeAll(seed, baseDir);
  return store;
}

}  // namespace heed::rt
