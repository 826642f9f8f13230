//===- LibraryCalls.cpp ---------------------------------------------------===//
//
// Library ops run on oneDNN and the threaded native kernels (runtime/native)
// where the shapes fit their calling conventions, and on the op's reference
// kernel otherwise (for example matmuls whose batch dims broadcast in both
// operands). The reference kernels remain the specification: the parity tests
// compare the two.
//
//===----------------------------------------------------------------------===//

#include "compiler/compiled/LibraryCalls.h"

#include "ops/HeedDialect.h"
#include "runtime/Error.h"
#include "runtime/kernels/Reference.h"
#include "runtime/native/Native.h"

using namespace mlir;
namespace native = heed::rt::native;

namespace heed {
namespace {

rt::Shape shapeOf(Type t) {
  auto s = cast<RankedTensorType>(t).getShape();
  return rt::Shape(s.begin(), s.end());
}

int64_t product(const rt::Shape &s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

/// a[..., M, K] @ b[..., K, N] on oneDNN when the batch dims are equal or one side
/// has none (or only ones); false if the broadcast pattern needs the general kernel.
/// With ta/tb the tensors hold a or b with their last two dims swapped.
bool nativeMatmul(const rt::Tensor &a, const rt::Tensor &b, rt::Tensor &c, bool ta, bool tb) {
  const rt::Shape &as = a.shape(), &bs = b.shape(), &cs = c.shape();
  int64_t M = cs[cs.size() - 2], N = cs.back();
  int64_t K = ta ? as[as.size() - 2] : as.back();
  int64_t batchA = product(as, 0, as.size() - 2), batchB = product(bs, 0, bs.size() - 2);
  int64_t batchC = product(cs, 0, cs.size() - 2);
  const float *pa = a.f32(), *pb = b.f32();
  float *pc = c.f32();
  if (batchB == 1 && !ta) {
    // A shared weight: fold a's batch into rows, one GEMM.
    native::matmul(pa, pb, pc, 1, batchA * M, N, K, false, tb);
    return true;
  }
  rt::Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  auto stripOnes = [](rt::Shape s) {
    while (!s.empty() && s.front() == 1) s.erase(s.begin());
    return s;
  };
  if (stripOnes(ab) == stripOnes(bb)) {
    native::matmul(pa, pb, pc, batchC, M, N, K, ta, tb, nullptr, native::Act::None, false,
                   batchA == 1 ? 0 : M * K, batchB == 1 ? 0 : K * N);
    return true;
  }
  if (batchA == 1) {
    native::matmul(pa, pb, pc, batchC, M, N, K, ta, tb, nullptr, native::Act::None, false, 0,
                   K * N);
    return true;
  }
  return false;
}

/// Materializes a transpose of the last two dims (for the reference fallback).
rt::Tensor swapLast(const rt::Tensor &x) {
  std::vector<int64_t> perm(x.rank());
  for (int64_t i = 0; i < x.rank(); ++i) perm[i] = i;
  std::swap(perm[x.rank() - 1], perm[x.rank() - 2]);
  return rt::ref::transpose(x, perm);
}

}  // namespace

void runLibraryCall(Operation *op, ArrayRef<rt::Tensor> in, SmallVectorImpl<rt::Tensor> &out,
                    rt::RunContext &ctx, bool ta, bool tb) {
  auto result = [&](unsigned i) {
    Type t = op->getResult(i).getType();
    Type e = cast<RankedTensorType>(t).getElementType();
    return rt::Tensor(e.isF32() ? rt::DType::F32 : e.isInteger(32) ? rt::DType::I32 : rt::DType::Bool,
                      shapeOf(t));
  };
  if (isa<MatmulOp>(op)) {
    rt::Tensor c = result(0);
    if (nativeMatmul(in[0], in[1], c, ta, tb)) {
      out.push_back(c);
      return;
    }
    out.push_back(rt::ref::matmul(ta ? swapLast(in[0]) : in[0], tb ? swapLast(in[1]) : in[1]));
    return;
  } else if (auto sm = dyn_cast<SoftmaxOp>(op)) {
    rt::Tensor y = result(0);
    int64_t n = in[0].shape().back();
    native::softmaxForward(in[0].f32(), y.f32(), in[0].size() / n, n);
    out.push_back(y);
    return;
  } else if (auto ln = dyn_cast<LayerNormOp>(op)) {
    rt::Tensor y = result(0);
    int64_t dim = in[0].shape().back(), rows = in[0].size() / dim;
    native::layerNormForward(in[0].f32(), in[1].f32(), in[2].f32(), y.f32(), nullptr, nullptr, rows,
                             dim, ln.getEps().convertToFloat());
    out.push_back(y);
    return;
  } else if (auto lg = dyn_cast<LayerNormGradOp>(op)) {
    rt::Tensor dx = result(0), dg = result(1), db = result(2);
    int64_t dim = in[0].shape().back(), rows = in[0].size() / dim;
    native::layerNormBackward(in[0].f32(), in[1].f32(), nullptr, nullptr, in[2].f32(), dx.f32(),
                              dg.f32(), db.f32(), rows, dim, lg.getEps().convertToFloat());
    out.append({dx, dg, db});
    return;
  } else if (auto ce = dyn_cast<CrossEntropyOp>(op)) {
    int64_t V = in[0].shape().back(), rows = in[0].size() / V;
    float loss = native::crossEntropyForward(in[0].f32(), in[1].i32(), rows, V,
                                             ce.getSmoothing().convertToFloat(), ce.getIgnoreIndex());
    out.push_back(rt::Tensor::scalarF32(loss));
    return;
  } else if (auto cg = dyn_cast<CrossEntropyGradOp>(op)) {
    rt::Tensor d = result(0);
    int64_t V = in[0].shape().back(), rows = in[0].size() / V;
    native::crossEntropyBackward(in[0].f32(), in[1].i32(), in[2].f32()[0], d.f32(), rows, V,
                                 cg.getSmoothing().convertToFloat(), cg.getIgnoreIndex());
    out.push_back(d);
    return;
  } else if (isa<GatherOp>(op)) {
    rt::Tensor y = result(0);
    native::gather(in[0].f32(), in[1].i32(), y.f32(), in[1].size(), in[0].shape()[0],
                   in[0].shape()[1]);
    out.push_back(y);
    return;
  } else if (isa<ScatterAddOp>(op)) {
    rt::Tensor y = result(0);
    int64_t D = y.shape()[1];
    native::scatterAdd(in[0].f32(), in[1].i32(), y.f32(), in[1].size(), y.shape()[0], D);
    out.push_back(y);
    return;
  } else if (auto d = dyn_cast<DropoutOp>(op)) {
    if (ctx.training && d.getP().convertToFloat() > 0) {
      rt::Tensor y = result(0);
      native::dropout(in[0].f32(), y.f32(), in[0].size(), d.getP().convertToFloat(),
                      (uint64_t)d.getSeed(), (uint64_t)ctx.step);
      out.push_back(y);
      return;
    }
  }
  auto kernel = dyn_cast<ReferenceKernelInterface>(op);
  if (!kernel) throw rt::Error("'" + op->getName().getStringRef().str() + "' has no kernel");
  kernel.evaluate(in, out, ctx);
}

}  // namespace heed
