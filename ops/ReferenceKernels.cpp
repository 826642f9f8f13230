//===- ReferenceKernels.cpp - each op's reference kernel ------------------===//
//
// Binds every primitive of the op table to its plain-loop kernel in
// runtime/kernels/Reference.h: attributes are read here, the loops live there.
// The interpreter (compiler/interp) calls these one op at a time.
//
//===----------------------------------------------------------------------===//

#include "ops/HeedDialect.h"
#include "ops/ModulePrecision.h"
#include "ops/RuntimeTypes.h"

#include "runtime/Error.h"
#include "runtime/kernels/Reference.h"

using namespace mlir;
namespace ref = heed::rt::ref;
using heed::rt::RunContext;
using heed::rt::Tensor;

namespace heed {


#define HEED_BINARY_KERNEL(OP, KIND)                                                     \
  void OP::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) { \
    out.push_back(ref::binary(ref::BinaryKind::KIND, in[0], in[1]));                    \
  }
HEED_BINARY_KERNEL(AddOp, Add)
HEED_BINARY_KERNEL(SubOp, Sub)
HEED_BINARY_KERNEL(MulOp, Mul)
HEED_BINARY_KERNEL(DivOp, Div)
#undef HEED_BINARY_KERNEL

#define HEED_COMPARE_KERNEL(OP, KIND)                                                    \
  void OP::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) { \
    out.push_back(ref::compare(ref::CompareKind::KIND, in[0], in[1]));                   \
  }
HEED_COMPARE_KERNEL(EqOp, Eq)
HEED_COMPARE_KERNEL(NeOp, Ne)
HEED_COMPARE_KERNEL(LtOp, Lt)
HEED_COMPARE_KERNEL(LeOp, Le)
HEED_COMPARE_KERNEL(GtOp, Gt)
HEED_COMPARE_KERNEL(GeOp, Ge)
#undef HEED_COMPARE_KERNEL

#define HEED_UNARY_KERNEL(OP, KIND)                                                      \
  void OP::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) { \
    out.push_back(ref::unary(ref::UnaryKind::KIND, in[0]));                              \
  }
HEED_UNARY_KERNEL(NegOp, Neg)
HEED_UNARY_KERNEL(ExpOp, Exp)
HEED_UNARY_KERNEL(LogOp, Log)
HEED_UNARY_KERNEL(SqrtOp, Sqrt)
HEED_UNARY_KERNEL(RsqrtOp, Rsqrt)
HEED_UNARY_KERNEL(TanhOp, Tanh)
HEED_UNARY_KERNEL(ReluOp, Relu)
HEED_UNARY_KERNEL(GeluOp, Gelu)
#undef HEED_UNARY_KERNEL

void WhereOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::where(in[0], in[1], in[2]));
}

void GeluGradOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::geluGrad(in[0], in[1]));
}

void MatmulOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  // At bf16 the inputs are rounded as the compiled backend's bf16 matmul rounds them.
  out.push_back(precisionOf(*this) == rt::Precision::BF16 ? ref::matmulBf16(in[0], in[1])
                                                          : ref::matmul(in[0], in[1]));
}

void TransposeOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::transpose(in[0], std::vector<int64_t>(getPerm().begin(), getPerm().end())));
}

void ReshapeOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::reshape(in[0], shapeOf(getType())));
}

void BroadcastOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::broadcastTo(in[0], shapeOf(getType())));
}

void SumToOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::sumTo(in[0], shapeOf(getType())));
}

void SumOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::reduce(ref::ReduceKind::Sum, in[0], getAxis(), getKeepdim()));
}
void MeanOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::reduce(ref::ReduceKind::Mean, in[0], getAxis(), getKeepdim()));
}
void MaxOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::reduce(ref::ReduceKind::Max, in[0], getAxis(), getKeepdim()));
}

void SoftmaxOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::softmax(in[0], getAxis()));
}
void LogSoftmaxOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::logSoftmax(in[0], getAxis()));
}

void SoftmaxGradOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  // y * (dy - sum(dy * y)); the reduction accumulates in double.
  const Tensor &y = in[0], &dy = in[1];
  Tensor dot = ref::reduce(ref::ReduceKind::Sum, ref::binary(ref::BinaryKind::Mul, dy, y), getAxis(), true);
  out.push_back(ref::binary(ref::BinaryKind::Mul, y, ref::binary(ref::BinaryKind::Sub, dy, dot)));
}

void SdpaOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  ref::SdpaResult r = ref::sdpa(in[0], in[1], in[2], getKeyPadding() ? &in[3] : nullptr,
                                getCausal(), getScale().convertToFloat(), getTokenMajor(),
                                precisionOf(*this) == rt::Precision::BF16);
  out.push_back(r.out);
  out.push_back(r.lse);
}

void SdpaGradOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  // (q, k, v, out, lse, dout, [dlse], [key_padding]); the reference recomputes the
  // probabilities and does not read out or lse.
  size_t next = 6;
  const Tensor *dlse = getDlse() ? &in[next++] : nullptr;
  const Tensor *pad = getKeyPadding() ? &in[next++] : nullptr;
  ref::SdpaGrads g = ref::sdpaGrad(in[0], in[1], in[2], in[5], dlse, pad, getCausal(),
                                   getScale().convertToFloat(), getTokenMajor(),
                                   precisionOf(*this) == rt::Precision::BF16);
  out.push_back(g.dq);
  out.push_back(g.dk);
  out.push_back(g.dv);
}

void LayerNormOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::layerNorm(in[0], in[1], in[2], getEps().convertToFloat()));
}

void LayerNormGradOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  ref::LayerNormGrads g = ref::layerNormGrad(in[0], in[1], in[2], getEps().convertToFloat());
  out.push_back(g.dx);
  out.push_back(g.dgamma);
  out.push_back(g.dbeta);
}

void GatherOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::gather(in[0], in[1]));
}

void ScatterAddOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::scatterAdd(in[0], in[1], getType().getShape()[0]));
}

void ConstantOp::evaluate(ArrayRef<Tensor>, SmallVectorImpl<Tensor> &out, RunContext &ctx) {
  auto attr = cast<DenseElementsAttr>(getValue());
  auto type = cast<RankedTensorType>(getType());
  rt::Shape shape = shapeOf(type);
  Type elt = type.getElementType();
  if (elt.isF32() && ctx.f64) {
    Tensor t(rt::DType::F64, shape);
    double *p = t.f64();
    int64_t i = 0;
    for (float v : attr.getValues<float>()) p[i++] = v;
    out.push_back(t);
  } else if (elt.isF32()) {
    Tensor t(rt::DType::F32, shape);
    float *p = t.f32();
    int64_t i = 0;
    for (float v : attr.getValues<float>()) p[i++] = v;
    out.push_back(t);
  } else if (elt.isInteger(32)) {
    Tensor t(rt::DType::I32, shape);
    int32_t *p = t.i32();
    int64_t i = 0;
    for (int32_t v : attr.getValues<int32_t>()) p[i++] = v;
    out.push_back(t);
  } else if (elt.isInteger(1)) {
    Tensor t(rt::DType::Bool, shape);
    uint8_t *p = t.b8();
    int64_t i = 0;
    for (bool v : attr.getValues<bool>()) p[i++] = v;
    out.push_back(t);
  } else {
    throw rt::Error("constant: unsupported element type");
  }
}

void SinusoidalOp::evaluate(ArrayRef<Tensor>, SmallVectorImpl<Tensor> &out, RunContext &ctx) {
  auto s = getType().getShape();
  out.push_back(ref::sinusoidal(s[0], s[1], ctx.f64 ? rt::DType::F64 : rt::DType::F32));
}

void DropoutOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &ctx) {
  if (!ctx.training || getP().convertToFloat() == 0.0f) {
    out.push_back(in[0]);
    return;
  }
  out.push_back(ref::dropout(in[0], getP().convertToFloat(), (uint64_t)getSeed(), (uint64_t)ctx.step,
                                ctx.dropoutIndexOffset(in[0].size())));
}

void CrossEntropyOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::crossEntropy(in[0], in[1], getSmoothing().convertToFloat(), getIgnoreIndex()));
}

void CrossEntropyGradOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &out, RunContext &) {
  out.push_back(ref::crossEntropyGrad(in[0], in[1], in[2], getSmoothing().convertToFloat(),
                                      getIgnoreIndex()));
}

void ParamOp::evaluate(ArrayRef<Tensor>, SmallVectorImpl<Tensor> &out, RunContext &ctx) {
  if (!ctx.params) throw rt::Error("param '" + getName().str() + "': no parameter store");
  const rt::Param &p = ctx.params->get(getName().str());
  if (p.value.shape() != shapeOf(getType()))
    throw rt::Error("param '" + getName().str() + "': stored shape " +
                    rt::shapeToString(p.value.shape()) + " but the model needs " +
                    rt::shapeToString(shapeOf(getType())));
  out.push_back(ctx.f64 ? rt::castTo(p.value, rt::DType::F64) : p.value);
}

void OptimizerStepOp::evaluate(ArrayRef<Tensor> in, SmallVectorImpl<Tensor> &, RunContext &ctx) {
  std::vector<std::pair<std::string, Tensor>> grads;
  for (size_t i = 0; i < in.size(); ++i)
    grads.push_back({cast<StringAttr>(getNames()[i]).str(), in[i]});
  if (!ctx.applyGradients) throw rt::Error("optimizer_step: no optimizer in this run");
  ctx.applyGradients(grads);
}

}  // namespace heed
