//===- NativeUpdateKernels.cpp --------------------------------------------===//

#include "runtime/compiled/NativeUpdateKernels.h"

#include "runtime/native/Bf16.h"
#include "runtime/native/Native.h"

namespace heed::rt {

const UpdateKernels &nativeUpdateKernels() {
  static const UpdateKernels k = [] {
    UpdateKernels u;
    u.adam = native::adam;
    u.sumSquares = native::sumSquares;
    u.scale = native::scale;
    u.adamAll = native::adamAll;
    u.sumSquaresAll = native::sumSquaresAll;
    u.bf16Shadow = native::bf16ShadowOf;
    return u;
  }();
  return k;
}

}  // namespace heed::rt
