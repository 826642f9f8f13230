//===- NativeUpdateKernels.h - the compiled backend's optimizer loops -*- C++ -*-===//
//
// runtime/native's threaded Adam, sum of squares and scale (single and batched
// over all parameters) as rt::UpdateKernels:
// what Program::updateKernels() returns for the compiled backend and artifacts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/train/Optimizer.h"

namespace heed::rt {

const UpdateKernels &nativeUpdateKernels();

}  // namespace heed::rt
