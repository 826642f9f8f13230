//===- LibraryOp.cpp ------------------------------------------------------===//
//
// Library ops run on oneDNN and the threaded native kernels (runtime/native)
// where the shapes fit their calling conventions, and on the op's reference
// kernel otherwise (for example matmuls whose batch dims broadcast in both
// operands). The reference kernels remain the specification: the parity tests
// compare the two.
//
//===----------------------------------------------------------------------===//

#include "runtime/compiled/LibraryOp.h"

#include "runtime/Error.h"
#include "runtime/kernels/Reference.h"
#include "runtime/native/Bf16.h"
#include "runtime/native/Native.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace heed::rt {
namespace {

using Kind = LibraryOp::Kind;

int64_t product(const Shape &s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

/// a[..., M, K] @ b[..., K, N] on oneDNN when the batch dims are equal or one side
/// has none (or only ones); false if the broadcast pattern needs the general kernel.
/// With ta/tb the tensors hold a or b with their last two dims swapped.
template <typename Gemm>
bool nativeMatmul(const Tensor &a, const Tensor &b, const Tensor &c, bool ta, Gemm gemm) {
  // gemm(batch, M, N, K, transA, transB, batchStrideA, batchStrideB) runs
  // native::matmul's layout on the operands' buffers.
  const Shape &as = a.shape(), &bs = b.shape(), &cs = c.shape();
  int64_t M = cs[cs.size() - 2], N = cs.back();
  int64_t K = ta ? as[as.size() - 2] : as.back();
  int64_t batchA = product(as, 0, as.size() - 2), batchB = product(bs, 0, bs.size() - 2);
  int64_t batchC = product(cs, 0, cs.size() - 2);
  if (batchB == 1 && !ta) {
    // A shared weight: fold a's batch into rows, one GEMM.
    gemm(1, batchA * M, N, K, false, 0, 0);
    return true;
  }
  Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  auto stripOnes = [](Shape s) {
    while (!s.empty() && s.front() == 1) s.erase(s.begin());
    return s;
  };
  if (stripOnes(ab) == stripOnes(bb)) {
    gemm(batchC, M, N, K, ta, batchA == 1 ? 0 : M * K, batchB == 1 ? 0 : K * N);
    return true;
  }
  if (batchA == 1) {
    gemm(batchC, M, N, K, ta, 0, K * N);
    return true;
  }
  return false;
}

/// a[..., M, K] @ b[..., K, N] on oneDNN when the batch dims are equal or one side
/// has none (or only ones); false if the broadcast pattern needs the general kernel.
/// With ta/tb the tensors hold a or b with their last two dims swapped. At bf16
/// the operands' roundings come from where the schedule says (op.bf16Lhs/Rhs).
bool nativeMatmul(const LibraryOp &op, const Tensor &a, const Tensor &b, Tensor &c, const float *bias,
                  native::Act act, bool accumulate) {
  const bool ta = op.transposeLhs, tb = op.transposeRhs;
  float *pc = c.f32();
  if (!op.bf16) {
    const float *pa = a.f32(), *pb = b.f32();
    return nativeMatmul(a, b, c, ta, [&](int64_t batch, int64_t M, int64_t N, int64_t K, bool t, int64_t sA,
                                         int64_t sB) {
      native::matmul(pa, pb, pc, batch, M, N, K, t, tb, bias, act, accumulate, sA, sB);
    });
  }
  // Rounded whole (a copy may serve other matmuls), even if the general kernel runs.
  const uint16_t *a16 = native::bf16Input(a.f32(), a.size(), op.bf16Lhs, 0);
  const uint16_t *b16 = native::bf16Input(b.f32(), b.size(), op.bf16Rhs, 1);
  return nativeMatmul(a, b, c, ta, [&](int64_t batch, int64_t M, int64_t N, int64_t K, bool t, int64_t sA,
                                       int64_t sB) {
    native::matmulBf16Rounded(a16, b16, pc, batch, M, N, K, t, tb, bias, act, accumulate, sA, sB);
  });
}

const char *bf16SourceName(native::Bf16Source s) {
  switch (s) {
  case native::Bf16Source::Round: return "round";
  case native::Bf16Source::RoundKeep: return "keep";
  case native::Bf16Source::Copy: return "copy";
  }
  return "round";
}

native::Bf16Source bf16SourceFromName(const std::string &name) {
  if (name == "round") return native::Bf16Source::Round;
  if (name == "keep") return native::Bf16Source::RoundKeep;
  if (name == "copy") return native::Bf16Source::Copy;
  throw Error("library op: bf16 input source '" + name + "' is not round, keep or copy");
}

/// Materializes a transpose of the last two dims (for the reference fallback).
Tensor swapLast(const Tensor &x) {
  std::vector<int64_t> perm(x.rank());
  for (int64_t i = 0; i < x.rank(); ++i) perm[i] = i;
  std::swap(perm[x.rank() - 1], perm[x.rank() - 2]);
  return ref::transpose(x, perm);
}

/// q[B, H, Tq, dh] and k[B, H, Tk, dh] (or both token-major, [B, T, H, dh]) with
/// the op's mask and scale.
native::AttentionShape attentionShape(const LibraryOp &op, const Tensor &q, const Tensor &k) {
  if (q.rank() != 4 || k.rank() != 4)
    throw Error(std::string(libraryKindName(op.kind)) + ": q and k must be rank 4, got " +
                shapeToString(q.shape()) + " and " + shapeToString(k.shape()));
  native::AttentionShape s;
  const int ha = op.tokenMajor ? 2 : 1, ta = op.tokenMajor ? 1 : 2;
  s.B = q.dim(0), s.H = q.dim(ha), s.Tq = q.dim(ta), s.Tk = k.dim(ta), s.dh = q.dim(3);
  s.tokenMajor = op.tokenMajor;
  s.causal = op.causal;
  s.scale = op.scale;
  s.bf16 = op.bf16;
  if (s.Tk == 0) throw Error(std::string(libraryKindName(op.kind)) + ": no keys (Tk == 0)");
  return s;
}

void expectInputs(const LibraryOp &op, const std::vector<Tensor> &in, size_t n) {
  if (in.size() != n)
    throw Error(std::string(libraryKindName(op.kind)) + ": expected " + std::to_string(n) +
                " inputs, got " + std::to_string(in.size()));
}

void run(const LibraryOp &op, const std::vector<Tensor> &in, std::vector<Tensor> &out,
         RunContext &ctx) {
  auto result = [&](size_t i) {
    if (i >= op.resultTypes.size() || i >= op.resultShapes.size())
      throw Error(std::string(libraryKindName(op.kind)) + ": the description has no result " +
                  std::to_string(i));
    // The native kernels overwrite their results whole, except scatter-add,
    // which accumulates into zeros.
    if (op.kind == Kind::ScatterAdd) return Tensor(op.resultTypes[i], op.resultShapes[i]);
    return Tensor::uninitialized(op.resultTypes[i], op.resultShapes[i]);
  };
  switch (op.kind) {
  case Kind::Matmul: {
    expectInputs(op, in, 2 + op.bias + op.residual);
    if (!op.act.empty() && op.act != "relu" && op.act != "gelu")
      throw Error("matmul: unknown epilogue activation '" + op.act + "'");
    const native::Act act = op.act == "relu"   ? native::Act::Relu
                            : op.act == "gelu" ? native::Act::Gelu
                                               : native::Act::None;
    const Tensor *residual = op.residual ? &in.back() : nullptr;
    Tensor c;
    if (residual) {
      if (op.resultShapes.empty() || residual->shape() != op.resultShapes[0] ||
          residual->dtype() != DType::F32)
        throw Error("matmul: the residual input is " + shapeToString(residual->shape()) +
                    ", expected f32" + (op.resultShapes.empty() ? "" : shapeToString(op.resultShapes[0])));
      // The sum post-op accumulates into the result: start it from the residual,
      // or accumulate into the residual itself when no one else holds it (the
      // executor hands over a residual that dies at this call).
      if (residual->soleOwner()) {
        c = *residual;
      } else {
        c = result(0);
        std::copy(residual->f32(), residual->f32() + residual->size(), c.f32());
      }
    } else {
      c = result(0);
    }
    const bool native = nativeMatmul(op, in[0], in[1], c, op.bias ? in[2].f32() : nullptr, act, residual != nullptr);
    if (op.dropLhs) native::dropBf16Copy(in[0].f32());
    if (op.dropRhs) native::dropBf16Copy(in[1].f32());
    if (native) {
      out.push_back(c);
      return;
    }
    Tensor r = op.bf16 ? ref::matmulBf16(op.transposeLhs ? swapLast(in[0]) : in[0],
                                         op.transposeRhs ? swapLast(in[1]) : in[1])
                       : ref::matmul(op.transposeLhs ? swapLast(in[0]) : in[0],
                                     op.transposeRhs ? swapLast(in[1]) : in[1]);
    if (op.bias) r = ref::binary(ref::BinaryKind::Add, r, in[2]);
    if (act == native::Act::Relu) r = ref::unary(ref::UnaryKind::Relu, r);
    if (act == native::Act::Gelu) r = ref::unary(ref::UnaryKind::Gelu, r);
    if (residual) r = ref::binary(ref::BinaryKind::Add, r, *residual);
    out.push_back(r);
    return;
  }
  case Kind::Softmax: {
    expectInputs(op, in, 1);
    if (op.axis != -1 && op.axis != in[0].rank() - 1) {
      out.push_back(ref::softmax(in[0], op.axis));
      return;
    }
    Tensor y = result(0);
    int64_t n = in[0].shape().back();
    native::softmaxForward(in[0].f32(), y.f32(), n ? in[0].size() / n : 0, n);
    out.push_back(y);
    return;
  }
  case Kind::SoftmaxGrad: {
    expectInputs(op, in, 2);
    const Tensor &y = in[0], &dy = in[1];
    if (op.axis != -1 && op.axis != y.rank() - 1) {
      // y * (dy - sum(dy * y)), as the op's reference kernel.
      Tensor dot = ref::reduce(ref::ReduceKind::Sum, ref::binary(ref::BinaryKind::Mul, dy, y), op.axis, true);
      out.push_back(ref::binary(ref::BinaryKind::Mul, y, ref::binary(ref::BinaryKind::Sub, dy, dot)));
      return;
    }
    Tensor dx = result(0);
    int64_t n = y.shape().back();
    native::softmaxBackward(y.f32(), dy.f32(), dx.f32(), n ? y.size() / n : 0, n);
    out.push_back(dx);
    return;
  }
  case Kind::LayerNorm: {
    expectInputs(op, in, 3);
    Tensor y = result(0);
    int64_t dim = in[0].shape().back(), rows = dim ? in[0].size() / dim : 0;
    native::layerNormForward(in[0].f32(), in[1].f32(), in[2].f32(), op.bf16Only ? nullptr : y.f32(), nullptr,
                             nullptr, rows, dim, op.eps,
                             op.writesBf16 ? native::bf16CopyFor(y.f32(), y.size()) : nullptr);
    out.push_back(y);
    return;
  }
  case Kind::LayerNormGrad: {
    // With `residual`, dx comes out as r + dx (the gradient sum that follows).
    expectInputs(op, in, 3 + op.residual);
    if (op.residual && in[3].shape() != in[0].shape())
      throw Error("layer_norm_grad: the residual input is " + shapeToString(in[3].shape()) +
                  ", expected " + shapeToString(in[0].shape()));
    Tensor dx = result(0), dg = result(1), db = result(2);
    int64_t dim = in[0].shape().back(), rows = dim ? in[0].size() / dim : 0;
    native::layerNormBackward(in[0].f32(), in[1].f32(), nullptr, nullptr, in[2].f32(), dx.f32(),
                              dg.f32(), db.f32(), rows, dim, op.eps,
                              op.residual ? in[3].f32() : nullptr,
                              op.writesBf16 ? native::bf16CopyFor(dx.f32(), dx.size()) : nullptr);
    out.push_back(dx);
    out.push_back(dg);
    out.push_back(db);
    return;
  }
  case Kind::CrossEntropy: {
    expectInputs(op, in, 2);
    int64_t V = in[0].shape().back(), rows = V ? in[0].size() / V : 0;
    float loss = native::crossEntropyForward(in[0].f32(), in[1].i32(), rows, V, op.smoothing,
                                             op.ignoreIndex);
    out.push_back(Tensor::scalarF32(loss));
    return;
  }
  case Kind::CrossEntropyGrad: {
    expectInputs(op, in, 3);
    Tensor d = result(0);
    int64_t V = in[0].shape().back(), rows = V ? in[0].size() / V : 0;
    native::crossEntropyBackward(in[0].f32(), in[1].i32(), in[2].f32()[0], op.bf16Only ? nullptr : d.f32(),
                                 rows, V, op.smoothing, op.ignoreIndex,
                                 op.writesBf16 ? native::bf16CopyFor(d.f32(), d.size()) : nullptr);
    out.push_back(d);
    return;
  }
  case Kind::Gather: {
    expectInputs(op, in, 2);
    Tensor y = result(0);
    native::gather(in[0].f32(), in[1].i32(), y.f32(), in[1].size(), in[0].shape()[0],
                   in[0].shape()[1]);
    out.push_back(y);
    return;
  }
  case Kind::ScatterAdd: {
    expectInputs(op, in, 2);
    Tensor y = result(0);
    native::scatterAdd(in[0].f32(), in[1].i32(), y.f32(), in[1].size(), y.shape()[0],
                       y.shape()[1]);
    out.push_back(y);
    return;
  }
  case Kind::Dropout: {
    // With `residual`, the add that follows: y = r + dropout(x), in one pass.
    expectInputs(op, in, 1 + op.residual);
    if (op.residual && in[1].shape() != in[0].shape())
      throw Error("dropout: the residual input is " + shapeToString(in[1].shape()) + ", expected " +
                  shapeToString(in[0].shape()));
    const bool identity = !ctx.training || op.p == 0.0f;
    if (identity && !op.residual) {
      out.push_back(in[0]);
      return;
    }
    Tensor y = result(0);
    native::dropout(in[0].f32(), y.f32(), in[0].size(), identity ? 0.0f : op.p, (uint64_t)op.seed,
                    (uint64_t)ctx.step, ctx.dropoutIndexOffset(in[0].size()),
                    op.residual ? in[1].f32() : nullptr);
    out.push_back(y);
    return;
  }
  case Kind::Sdpa: {
    expectInputs(op, in, op.keyPadding ? 4 : 3);
    Tensor o = result(0), lse = result(1);
    native::attentionForward(attentionShape(op, in[0], in[1]), in[0].f32(), in[1].f32(),
                             in[2].f32(), op.keyPadding ? in[3].b8() : nullptr, o.f32(), lse.f32());
    out.push_back(o);
    out.push_back(lse);
    return;
  }
  case Kind::SdpaGrad: {
    expectInputs(op, in, 6 + op.dlse + op.keyPadding);
    Tensor dq = result(0), dk = result(1), dv = result(2);
    const float *dlse = op.dlse ? in[6].f32() : nullptr;
    const uint8_t *pad = op.keyPadding ? in[6 + op.dlse].b8() : nullptr;
    native::attentionBackward(attentionShape(op, in[0], in[1]), in[0].f32(), in[1].f32(),
                              in[2].f32(), pad, in[3].f32(), in[4].f32(), in[5].f32(), dlse,
                              dq.f32(), dk.f32(), dv.f32());
    out.push_back(dq);
    out.push_back(dk);
    out.push_back(dv);
    return;
  }
  case Kind::Param: {
    expectInputs(op, in, 0);
    if (!ctx.params) throw Error("param '" + op.name + "': no parameter store");
    const Param &p = ctx.params->get(op.name);
    const Shape &want = op.resultShapes.empty() ? p.value.shape() : op.resultShapes[0];
    if (p.value.shape() != want)
      throw Error("param '" + op.name + "': stored shape " + shapeToString(p.value.shape()) +
                  " but the model needs " + shapeToString(want));
    out.push_back(ctx.f64 ? castTo(p.value, DType::F64) : p.value);
    // Rounded once per run for all the bf16 matmuls that read it, unless the caller
    // vouches that the optimizer rewrote the shadow with the values it wrote.
    if (op.writesBf16 && !ctx.f64 &&
        !(ctx.bf16ShadowsCurrent && native::bf16ShadowOf(p.value.f32(), p.value.size())))
      native::writeBf16Shadow(p.value.f32(), p.value.size());
    return;
  }
  case Kind::OptimizerStep: {
    if (in.size() != op.names.size())
      throw Error("optimizer_step: " + std::to_string(op.names.size()) + " names for " +
                  std::to_string(in.size()) + " gradients");
    std::vector<std::pair<std::string, Tensor>> grads;
    grads.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) grads.push_back({op.names[i], in[i]});
    if (!ctx.applyGradients) throw Error("optimizer_step: no optimizer in this run");
    ctx.applyGradients(grads);
    return;
  }
  case Kind::GradientBucket: {
    if (!ctx.bucketReady) return;  // one process: the optimizer step takes every gradient at once
    if (in.size() != op.names.size())
      throw Error("gradient_bucket: " + std::to_string(op.names.size()) + " names for " +
                  std::to_string(in.size()) + " gradients");
    std::vector<std::pair<std::string, Tensor>> grads;
    grads.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) grads.push_back({op.names[i], in[i]});
    ctx.bucketReady(op.bucket, grads);
    return;
  }
  }
  throw Error("library call: unknown kind " + std::to_string((int)op.kind));
}

const std::pair<Kind, const char *> kKindNames[] = {
    {Kind::Matmul, "matmul"},
    {Kind::Softmax, "softmax"},
    {Kind::SoftmaxGrad, "softmax_grad"},
    {Kind::LayerNorm, "layer_norm"},
    {Kind::LayerNormGrad, "layer_norm_grad"},
    {Kind::CrossEntropy, "cross_entropy"},
    {Kind::CrossEntropyGrad, "cross_entropy_grad"},
    {Kind::Gather, "gather"},
    {Kind::ScatterAdd, "scatter_add"},
    {Kind::Dropout, "dropout"},
    {Kind::Param, "param"},
    {Kind::OptimizerStep, "optimizer_step"},
    {Kind::GradientBucket, "gradient_bucket"},
    {Kind::Sdpa, "sdpa"},
    {Kind::SdpaGrad, "sdpa_grad"},
};

}  // namespace

const char *libraryKindName(Kind kind) {
  for (auto &[k, n] : kKindNames)
    if (k == kind) return n;
  return "unknown";
}

Kind libraryKindFromName(const std::string &name) {
  for (auto &[k, n] : kKindNames)
    if (name == n) return k;
  throw Error("unknown library call '" + name + "'");
}

DType dtypeFromName(const std::string &name) {
  for (DType t : {DType::F32, DType::I32, DType::I64, DType::Bool, DType::F64})
    if (name == dtypeName(t)) return t;
  throw Error("unknown dtype '" + name + "'");
}

void runLibraryOp(const LibraryOp &op, const std::vector<Tensor> &in, std::vector<Tensor> &out,
                  RunContext &ctx) {
  out.clear();
  if (op.location.empty()) return run(op, in, out, ctx);
  try {
    run(op, in, out, ctx);
  } catch (const Error &e) {
    throw Error(op.location + e.what());
  }
}

bool canLeaveFloat32Unwritten(LibraryOp::Kind kind) {
  return kind == Kind::LayerNorm || kind == Kind::CrossEntropyGrad;
}

nlohmann::json toJson(const LibraryOp &op) {
  nlohmann::json j;
  j["kind"] = libraryKindName(op.kind);
  if (op.residual) j["residual"] = true;  // matmul, dropout, layer_norm_grad
  if (op.writesBf16) j["writes_bf16"] = true;
  if (op.bf16Only) j["bf16_only"] = true;
  switch (op.kind) {
  case Kind::Matmul:
    j["transpose_lhs"] = op.transposeLhs;
    j["transpose_rhs"] = op.transposeRhs;
    if (op.bias) j["bias"] = true;
    if (!op.act.empty()) j["act"] = op.act;
    if (op.bf16) j["precision"] = "bf16";
    if (op.bf16Lhs != native::Bf16Source::Round) j["bf16_lhs"] = bf16SourceName(op.bf16Lhs);
    if (op.bf16Rhs != native::Bf16Source::Round) j["bf16_rhs"] = bf16SourceName(op.bf16Rhs);
    if (op.dropLhs) j["drop_lhs"] = true;
    if (op.dropRhs) j["drop_rhs"] = true;
    break;
  case Kind::Softmax:
  case Kind::SoftmaxGrad: j["axis"] = op.axis; break;
  case Kind::LayerNorm:
  case Kind::LayerNormGrad: j["eps"] = op.eps; break;
  case Kind::CrossEntropy:
  case Kind::CrossEntropyGrad:
    j["smoothing"] = op.smoothing;
    j["ignore_index"] = op.ignoreIndex;
    break;
  case Kind::Dropout:
    j["p"] = op.p;
    j["seed"] = op.seed;
    break;
  case Kind::Param:
    j["name"] = op.name;
    if (op.bf16) j["precision"] = "bf16";
    break;
  case Kind::OptimizerStep: j["names"] = op.names; break;
  case Kind::GradientBucket:
    j["bucket"] = op.bucket;
    j["names"] = op.names;
    break;
  case Kind::Sdpa:
  case Kind::SdpaGrad:
    j["causal"] = op.causal;
    j["scale"] = op.scale;
    j["key_padding"] = op.keyPadding;
    j["token_major"] = op.tokenMajor;
    if (op.kind == Kind::SdpaGrad) j["dlse"] = op.dlse;
    if (op.bf16) j["precision"] = "bf16";  // absent (older artifacts): fp32
    break;
  default: break;
  }
  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < op.resultTypes.size(); ++i)
    results.push_back({{"dtype", dtypeName(op.resultTypes[i])}, {"shape", op.resultShapes[i]}});
  j["results"] = results;
  if (!op.location.empty()) j["location"] = op.location;
  return j;
}

LibraryOp libraryOpFromJson(const nlohmann::json &j) {
  LibraryOp op;
  op.kind = libraryKindFromName(j.at("kind").get<std::string>());
  op.transposeLhs = j.value("transpose_lhs", false);
  op.transposeRhs = j.value("transpose_rhs", false);
  op.bias = j.value("bias", false);
  op.act = j.value("act", std::string());
  op.bf16 = j.value("precision", std::string("fp32")) == "bf16";
  op.bf16Lhs = bf16SourceFromName(j.value("bf16_lhs", std::string("round")));
  op.bf16Rhs = bf16SourceFromName(j.value("bf16_rhs", std::string("round")));
  op.dropLhs = j.value("drop_lhs", false);
  op.dropRhs = j.value("drop_rhs", false);
  op.writesBf16 = j.value("writes_bf16", false);
  op.bf16Only = j.value("bf16_only", false);
  if (op.bf16Only && (!op.writesBf16 || !canLeaveFloat32Unwritten(op.kind)))
    throw Error(std::string("library op '") + libraryKindName(op.kind) +
                "': bf16_only needs writes_bf16 on layer_norm or cross_entropy_grad");
  op.residual = j.value("residual", false);
  op.axis = j.value("axis", (int64_t)-1);
  op.eps = j.value("eps", 1e-5f);
  op.smoothing = j.value("smoothing", 0.0f);
  op.ignoreIndex = j.value("ignore_index", (int64_t)-1);
  op.p = j.value("p", 0.0f);
  op.seed = j.value("seed", (int64_t)0);
  op.name = j.value("name", std::string());
  op.causal = j.value("causal", false);
  op.scale = j.value("scale", 1.0f);
  op.keyPadding = j.value("key_padding", false);
  op.dlse = j.value("dlse", false);
  op.tokenMajor = j.value("token_major", false);
  op.bucket = j.value("bucket", (int64_t)0);
  if (j.contains("names")) op.names = j.at("names").get<std::vector<std::string>>();
  for (const nlohmann::json &r : j.at("results")) {
    op.resultTypes.push_back(dtypeFromName(r.at("dtype").get<std::string>()));
    op.resultShapes.push_back(r.at("shape").get<Shape>());
  }
  op.location = j.value("location", std::string());
  return op;
}

}  // namespace heed::rt
