//===- Threads.cpp - thread count, oneDNN engine and streams --------------===//

#include "runtime/native/Dnnl.h"
#include "runtime/native/Native.h"

#include <omp.h>

namespace heed::rt::native {

namespace {
// The OpenMP default, captured before anyone calls setThreads.
const int kDefaultThreads = omp_get_max_threads();
}  // namespace

void setThreads(int n) { omp_set_num_threads(n > 0 ? n : kDefaultThreads); }

int numThreads() { return omp_get_max_threads(); }

namespace detail {

dnnl::engine &cpuEngine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream &cpuStream() {
  thread_local dnnl::stream s(cpuEngine());
  return s;
}

}  // namespace detail
}  // namespace heed::rt::native
