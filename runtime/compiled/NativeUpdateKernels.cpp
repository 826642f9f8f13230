//===- NativeUpdateKernels.cpp --------------------------------------------===//

#include "runtime/compiled/NativeUpdateKernels.h"

#include "runtime/native/Native.h"

namespace heed::rt {

const UpdateKernels &nativeUpdateKernels() {
  static const UpdateKernels k = [] {
    UpdateKernels u;
    u.adam = native::adam;
    u.sumSquares = native::sumSquares;
    u.scale = native::scale;
    return u;
  }();
  return k;
}

}  // namespace heed::rt
