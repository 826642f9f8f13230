//===- MatmulPrimitive.h - one oneDNN matmul primitive, any input type -*- C++ -*-===//
//
// The float32 matmul (Matmul.cpp) and the bf16 one (MatmulBf16.cpp) build the
// same primitive and differ only in the type of A and B: C is float32 in both,
// and so are the bias and the post-ops (relu / gelu_erf, then the sum when
// accumulating: C = C + act(AB + bias)).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/native/Dnnl.h"
#include "runtime/native/Native.h"

namespace heed::rt::native::detail {

struct MatmulPrimitive {
  dnnl::matmul prim;
  dnnl::memory a, b, bias, c;  // no buffers of their own: the caller sets the handles
};

/// C[batch, M, N] from A[batch or 1, M, K] and B[batch or 1, K, N] (transposed
/// when transA / transB), batch strides sA / sB (0: one matrix shared by every
/// batch), A and B of type `inputs`.
MatmulPrimitive makeMatmulPrimitive(dnnl::memory::data_type inputs, int64_t batch, int64_t M, int64_t N, int64_t K,
                                    bool transA, bool transB, bool hasBias, Act act, bool accumulate, int64_t sA,
                                    int64_t sB);

}  // namespace heed::rt::native::detail
