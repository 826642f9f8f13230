//===- Gradcheck.cpp - `heed gradcheck`: prints compiler/session/GradCheck ===//

#include "tools/heed/Commands.h"

#include "compiler/ModelLoader.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace heed {

int runGradcheck(const ModelArgs &m, const GradcheckOptions &o) {
  ImportOptions opts;
  if (!parseOverrides(m.sets, opts)) return 1;
  if (m.batch > 0) opts.batch = m.batch;
  return reportErrors([&] {
    GradcheckReport r = checkGradients(m.path, opts, o);
    llvm::outs() << llvm::format("gradcheck %s: loss %.6f, batch %lld, %s, eps %g, tolerance %g%s\n", m.path.c_str(),
                                 r.loss, (long long)r.batch, r.f64 ? (const char *)"float64" : (const char *)"float32",
                                 r.eps, r.tolerance,
                                 r.compiled ? (const char *)", autodiff: compiled backend (float32)" : "");
    const char *cols[] = {"parameter", "checked", "|autodiff|", "|numeric|", "rel. error"};
    llvm::outs() << llvm::format("%-44s %8s %12s %12s %12s\n", cols[0], cols[1], cols[2], cols[3], cols[4]);
    for (const GradcheckRow &row : r.rows)
      llvm::outs() << llvm::format("%-44s %8lld %12.4e %12.4e %12.4e  %s\n", row.name.c_str(), (long long)row.checked,
                                   row.autodiff, row.numeric, row.relError,
                                   row.failed ? (const char *)"FAIL" : (const char *)"ok");
    llvm::outs().flush();
    if (!r.anyNonZero) {
      llvm::errs() << "error: every gradient is zero: the loss does not depend on any parameter\n";
      return 1;
    }
    if (r.failures) {
      llvm::errs() << "error: " << r.failures << " parameter(s) exceed the tolerance " << r.tolerance << "\n";
      return 1;
    }
    llvm::outs() << "gradcheck passed\n";
    return 0;
  });
}

}  // namespace heed
