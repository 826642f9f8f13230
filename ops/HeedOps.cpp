//===- HeedOps.cpp - verifiers: the shape rules, applied to IR ------------===//
//
// Each verifier recomputes the result shape with the same rule the frontend used
// (ShapeRules.cpp) and checks the declared result type against it. IR written by
// hand (lit tests, heed-opt input) gets the same checks as model files.
//
//===----------------------------------------------------------------------===//

#include "ops/HeedDialect.h"
#include "ops/ScalarBodies.h"
#include "ops/ShapeRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace heed;

static NShape shapeOf(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  return anonymous(std::vector<int64_t>(t.getShape().begin(), t.getShape().end()));
}

static std::string typeStr(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

/// The rule's result must equal the declared result shape.
static LogicalResult checkResult(Operation *op, const ShapeResult &r, Value result) {
  if (!r) return op->emitOpError() << r.error;
  auto declared = cast<RankedTensorType>(result.getType()).getShape();
  if (sizes(*r.shape) != std::vector<int64_t>(declared.begin(), declared.end()))
    return op->emitOpError() << "result type " << typeStr(result.getType())
                             << " does not match the inferred shape " << toString(*r.shape);
  return success();
}

static LogicalResult sameType(Operation *op, Value a, Value result) {
  if (a.getType() != result.getType())
    return op->emitOpError() << "result type " << typeStr(result.getType())
                             << " must equal the operand type " << typeStr(a.getType());
  return success();
}

static LogicalResult verifyBroadcasting(Operation *op) {
  NShape acc = shapeOf(op->getOperand(0));
  for (unsigned i = 1; i < op->getNumOperands(); ++i) {
    ShapeResult r = broadcastShapes(op->getName().stripDialect().str(), acc, "",
                                    shapeOf(op->getOperand(i)), "");
    if (!r) return op->emitOpError() << r.error;
    acc = *r.shape;
  }
  return checkResult(op, ShapeResult::ok(acc), op->getResult(0));
}

#define HEED_BROADCAST_VERIFIER(OP) \
  LogicalResult OP::verify() { return verifyBroadcasting(*this); }
HEED_BROADCAST_VERIFIER(AddOp)
HEED_BROADCAST_VERIFIER(SubOp)
HEED_BROADCAST_VERIFIER(MulOp)
HEED_BROADCAST_VERIFIER(DivOp)
HEED_BROADCAST_VERIFIER(WhereOp)
#undef HEED_BROADCAST_VERIFIER

static LogicalResult verifyCompare(Operation *op) {
  Type a = cast<RankedTensorType>(op->getOperand(0).getType()).getElementType();
  Type b = cast<RankedTensorType>(op->getOperand(1).getType()).getElementType();
  if (a != b)
    return op->emitOpError() << "operands must have the same element type, got " << typeStr(a)
                             << " and " << typeStr(b);
  return verifyBroadcasting(op);
}
#define HEED_COMPARE_VERIFIER(OP) \
  LogicalResult OP::verify() { return verifyCompare(*this); }
HEED_COMPARE_VERIFIER(EqOp)
HEED_COMPARE_VERIFIER(NeOp)
HEED_COMPARE_VERIFIER(LtOp)
HEED_COMPARE_VERIFIER(LeOp)
HEED_COMPARE_VERIFIER(GtOp)
HEED_COMPARE_VERIFIER(GeOp)
#undef HEED_COMPARE_VERIFIER

#define HEED_SAME_TYPE_VERIFIER(OP) \
  LogicalResult OP::verify() { return sameType(*this, getOperand(), getResult()); }
HEED_SAME_TYPE_VERIFIER(NegOp)
HEED_SAME_TYPE_VERIFIER(ExpOp)
HEED_SAME_TYPE_VERIFIER(LogOp)
HEED_SAME_TYPE_VERIFIER(SqrtOp)
HEED_SAME_TYPE_VERIFIER(RsqrtOp)
HEED_SAME_TYPE_VERIFIER(TanhOp)
HEED_SAME_TYPE_VERIFIER(ReluOp)
HEED_SAME_TYPE_VERIFIER(GeluOp)
HEED_SAME_TYPE_VERIFIER(DropoutOp)
#undef HEED_SAME_TYPE_VERIFIER

LogicalResult GeluGradOp::verify() {
  if (failed(sameType(*this, getX(), getResult()))) return failure();
  return sameType(*this, getDy(), getResult());
}

LogicalResult MatmulOp::verify() {
  return checkResult(*this, matmulShape(shapeOf(getLhs()), "", shapeOf(getRhs()), ""), getResult());
}

LogicalResult TransposeOp::verify() {
  std::vector<int64_t> perm(getPerm().begin(), getPerm().end());
  if (getX().getType().getElementType() != getResult().getType().getElementType())
    return emitOpError() << "element types differ";
  return checkResult(*this, transposeShape(shapeOf(getX()), perm), getResult());
}

LogicalResult ReshapeOp::verify() {
  if (getX().getType().getElementType() != getResult().getType().getElementType())
    return emitOpError() << "element types differ";
  return checkResult(*this, reshapeShape(shapeOf(getX()), "", shapeOf(getResult())), getResult());
}

LogicalResult BroadcastOp::verify() {
  if (getX().getType().getElementType() != getResult().getType().getElementType())
    return emitOpError() << "element types differ";
  return checkResult(*this, broadcastToShape(shapeOf(getX()), shapeOf(getResult())), getResult());
}

LogicalResult SumToOp::verify() {
  ShapeResult r = broadcastToShape(shapeOf(getResult()), shapeOf(getX()));
  if (!r) return emitOpError() << "the result shape must broadcast to the operand's: " << r.error;
  return success();
}

static LogicalResult verifyReduce(Operation *op, Value x, int64_t axis, bool keepdim) {
  return checkResult(op, reduceShape(op->getName().stripDialect().str(), shapeOf(x), axis, keepdim),
                     op->getResult(0));
}
LogicalResult SumOp::verify() { return verifyReduce(*this, getX(), getAxis(), getKeepdim()); }
LogicalResult MeanOp::verify() { return verifyReduce(*this, getX(), getAxis(), getKeepdim()); }
LogicalResult MaxOp::verify() { return verifyReduce(*this, getX(), getAxis(), getKeepdim()); }

LogicalResult SoftmaxOp::verify() {
  return checkResult(*this, axisShape("softmax", shapeOf(getX()), getAxis()), getResult());
}
LogicalResult LogSoftmaxOp::verify() {
  return checkResult(*this, axisShape("log_softmax", shapeOf(getX()), getAxis()), getResult());
}

LogicalResult SoftmaxGradOp::verify() {
  if (failed(sameType(*this, getY(), getResult())) || failed(sameType(*this, getDy(), getResult())))
    return failure();
  return checkResult(*this, axisShape("softmax_grad", shapeOf(getY()), getAxis()), getResult());
}

LogicalResult LayerNormOp::verify() {
  return checkResult(*this, layerNormShape(shapeOf(getX()), shapeOf(getGamma()), shapeOf(getBeta())),
                     getResult());
}

LogicalResult LayerNormGradOp::verify() {
  ShapeResult r = layerNormShape(shapeOf(getX()), shapeOf(getGamma()), shapeOf(getGamma()));
  if (failed(checkResult(*this, r, getDx()))) return failure();
  if (failed(sameType(*this, getX(), getDy()))) return failure();
  if (failed(sameType(*this, getGamma(), getDgamma()))) return failure();
  return sameType(*this, getGamma(), getDbeta());
}

/// The sdpa shape rule for (q, k, v, mask), plus out like q and lse [B, H, Tq]
/// (out [B, H, Tq, dh], or [B, Tq, H, dh] token-major).
static LogicalResult verifySdpa(Operation *op, Value q, Value k, Value v, Value mask, Value out,
                                Value lse, bool tokenMajor) {
  NShape m;
  if (mask) m = shapeOf(mask);
  ShapeResult r = sdpaShape(shapeOf(q), shapeOf(k), shapeOf(v), mask ? &m : nullptr, tokenMajor);
  if (failed(checkResult(op, r, out))) return failure();
  const NShape &o = *r.shape;
  NShape l = tokenMajor ? NShape{o[0], o[2], o[1]} : NShape{o[0], o[1], o[2]};
  return checkResult(op, ShapeResult::ok(l), lse);
}

LogicalResult SdpaOp::verify() {
  return verifySdpa(*this, getQ(), getK(), getV(), getKeyPadding(), getOut(), getLse(),
                    getTokenMajor());
}

LogicalResult SdpaGradOp::verify() {
  if (failed(verifySdpa(*this, getQ(), getK(), getV(), getKeyPadding(), getOut(), getLse(),
                        getTokenMajor())))
    return failure();
  if (failed(sameType(*this, getOut(), getDout()))) return failure();
  if (getDlse() && failed(sameType(*this, getLse(), getDlse()))) return failure();
  if (failed(sameType(*this, getQ(), getDq())) || failed(sameType(*this, getK(), getDk())))
    return failure();
  return sameType(*this, getV(), getDv());
}

LogicalResult GatherOp::verify() {
  return checkResult(*this, gatherShape(shapeOf(getTable()), shapeOf(getIds())), getResult());
}

LogicalResult ScatterAddOp::verify() {
  ShapeResult r = gatherShape(shapeOf(getResult()), shapeOf(getIds()));
  if (!r) return emitOpError() << r.error;
  if (sizes(*r.shape) != sizes(shapeOf(getDy())))
    return emitOpError() << "dy " << toString(shapeOf(getDy())) << " does not match ids "
                         << toString(shapeOf(getIds())) << " and rows of "
                         << toString(shapeOf(getResult()));
  return success();
}

LogicalResult ConstantOp::verify() {
  if (!isa<DenseElementsAttr>(getValue())) return emitOpError() << "value must be a dense tensor";
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }
/// p = 0 keeps every element and scales by 1: the identity, in training too.
OpFoldResult DropoutOp::fold(FoldAdaptor) { return getP().isZero() ? OpFoldResult(getX()) : OpFoldResult(); }

LogicalResult SinusoidalOp::verify() {
  if (getResult().getType().getRank() != 2)
    return emitOpError() << "result must be [len, dim]";
  return success();
}

LogicalResult CrossEntropyOp::verify() {
  if (getSmoothing().convertToFloat() < 0 || getSmoothing().convertToFloat() >= 1)
    return emitOpError() << "smoothing must be in [0, 1)";
  return checkResult(*this, crossEntropyShape(shapeOf(getLogits()), "", shapeOf(getTargets()), ""),
                     getResult());
}

LogicalResult CrossEntropyGradOp::verify() {
  ShapeResult r = crossEntropyShape(shapeOf(getLogits()), "", shapeOf(getTargets()), "");
  if (!r) return emitOpError() << r.error;
  return sameType(*this, getLogits(), getResult());
}

LogicalResult ParamOp::verify() {
  if (getName().empty()) return emitOpError() << "parameter needs a name";
  return success();
}

LogicalResult EmbeddingOp::verify() {
  return checkResult(*this, gatherShape(shapeOf(getTable()), shapeOf(getIds())), getResult());
}

LogicalResult PositionalEncodingOp::verify() {
  if (getKind() != "sinusoidal" && getKind() != "learned")
    return emitOpError() << "kind must be sinusoidal or learned, got '" << getKind() << "'";
  if ((getKind() == "learned") != bool(getTable()))
    return emitOpError() << "a learned encoding takes its table as an operand, a sinusoidal one none";
  if (getTable()) return sameType(*this, getTable(), getResult());
  return success();
}

LogicalResult LinearOp::verify() {
  NShape b;
  if (getB()) b = shapeOf(getB());
  return checkResult(*this, linearShape(shapeOf(getX()), "", shapeOf(getW()), getB() ? &b : nullptr),
                     getResult());
}

LogicalResult FeedForwardOp::verify() {
  if (getAct() != "relu" && getAct() != "gelu")
    return emitOpError() << "act must be relu or gelu, got '" << getAct() << "'";
  NShape b1 = shapeOf(getB1()), b2 = shapeOf(getB2());
  ShapeResult h = linearShape(shapeOf(getX()), "", shapeOf(getW1()), &b1);
  if (!h) return emitOpError() << h.error;
  return checkResult(*this, linearShape(*h.shape, "", shapeOf(getW2()), &b2), getResult());
}

LogicalResult AttentionOp::verify() {
  NShape mask;
  if (getKeyPadding()) mask = shapeOf(getKeyPadding());
  ShapeResult r = attentionShape(shapeOf(getQIn()), "", shapeOf(getKvIn()), "", getHeads(),
                                 getKeyPadding() ? &mask : nullptr, "");
  if (failed(checkResult(*this, r, getResult()))) return failure();
  int64_t d = getQIn().getType().getShape()[2];
  for (Value w : {getWQ(), getWK(), getWV(), getWO()})
    if (cast<RankedTensorType>(w.getType()).getShape() != ArrayRef<int64_t>{d, d})
      return emitOpError() << "projection weights must be [" << d << ", " << d << "]";
  for (Value b : {getBQ(), getBK(), getBV(), getBO()})
    if (cast<RankedTensorType>(b.getType()).getShape() != ArrayRef<int64_t>{d})
      return emitOpError() << "projection biases must be [" << d << "]";
  return success();
}

LogicalResult OptimizerStepOp::verify() {
  if (getNames().size() != getGrads().size())
    return emitOpError() << "needs one parameter name per gradient, got " << getNames().size()
                         << " names for " << getGrads().size() << " gradients";
  return success();
}

#define GET_OP_CLASSES
#include "ops/HeedOps.cpp.inc"
