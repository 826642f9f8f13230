//===- HeedOps.td - the heed dialect: one record per op ------*- tablegen -*-===//
//
// The op table of heed. Each record says what the op takes and returns; its
// shape rule lives in ShapeRules.cpp (shared with the frontend), its verifier in
// HeedOps.cpp. Layer ops (embedding, linear, attention, ...) are rewritten into
// primitives by the heed-decompose pass.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_OPS
#define HEED_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "ops/HeedInterfaces.td"

def Heed_Dialect : Dialect {
  let name = "heed";
  let cppNamespace = "::heed";
  let summary = "transformer model graphs: primitives and layers";
  let description = [{
    Values are ranked tensors of f32 (activations, parameters), i32 (token ids)
    or i1 (masks). Every op produced by the frontend carries the location of the
    model-file text it came from.
  }];
}

// Every primitive has a reference kernel; each also declares either a gradient
// rule (Grad) or that it takes none (Heed_NoGradient).
class Heed_Op<string mnemonic, list<Trait> traits = []>
    : Op<Heed_Dialect, mnemonic,
         !listconcat(traits, [DeclareOpInterfaceMethods<Heed_ReferenceKernelInterface>])> {
  let hasVerifier = 1;
}
// Layers exist only until heed-decompose: no kernel, no gradient of their own.
class Heed_LayerOp<string mnemonic, list<Trait> traits = []>
    : Op<Heed_Dialect, mnemonic, !listconcat(traits, [Heed_Layer])> {
  let hasVerifier = 1;
}
defvar Grad = DeclareOpInterfaceMethods<Heed_GradientInterface>;
defvar NoGrad = Heed_NoGradient;

// How the compiled backend lowers the op (HeedInterfaces.td): an elementwise
// scalar body, a reduction, a layout template, a library call, or (layers) a
// decomposition. An elementwise op writes its body in its record:
//   let extraClassDefinition = Heed_ScalarBody<"return ...;">.impl;
// with `b` (OpBuilder), `loc` and `args` (the operand elements) in scope.
defvar ScalarBody = DeclareOpInterfaceMethods<Heed_ScalarBodyInterface>;
defvar Reduction = Heed_ReductionInterface;
defvar Library = Heed_LibraryCallInterface;
defvar Layout = Heed_Layout;
class Heed_ScalarBody<code body> {
  code impl = "::mlir::Value $cppClass::buildScalar(::mlir::OpBuilder &b, ::mlir::Location loc, "
              "::mlir::ValueRange args) {\n" # body # "\n}";
}

def Heed_F32Tensor : RankedTensorOf<[F32]>;
def Heed_IdTensor : RankedTensorOf<[I32]>;
def Heed_MaskTensor : RankedTensorOf<[I1]>;
def Heed_F32Scalar : 0DTensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Heed_BinaryOp<string mnemonic, string what, string arithOp>
    : Heed_Op<mnemonic, [Pure, Grad, ScalarBody]> {
  let extraClassDefinition = Heed_ScalarBody<
      "return b.create<::mlir::arith::" # arithOp # ">(loc, args[0], args[1]);">.impl;
  let summary = what # ", with numpy broadcasting";
  let arguments = (ins Heed_F32Tensor:$lhs, Heed_F32Tensor:$rhs);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let description = [{
    Example: `%r = heed.}] # mnemonic # [{ %a, %b : (tensor<16x128x128xf32>, tensor<128x128xf32>) -> tensor<16x128x128xf32>`
  }];
}

def AddOp : Heed_BinaryOp<"add", "elementwise sum", "AddFOp">;
def SubOp : Heed_BinaryOp<"sub", "elementwise difference", "SubFOp">;
def MulOp : Heed_BinaryOp<"mul", "elementwise product", "MulFOp">;
def DivOp : Heed_BinaryOp<"div", "elementwise quotient", "DivFOp">;

class Heed_CompareOp<string mnemonic, string what, string fpred, string ipred>
    : Heed_Op<mnemonic, [Pure, NoGrad, ScalarBody]> {
  let extraClassDefinition = Heed_ScalarBody<
      "return scalar::compare(b, loc, args[0], args[1], ::mlir::arith::CmpFPredicate::" # fpred #
      ", ::mlir::arith::CmpIPredicate::" # ipred # ");">.impl;
  let summary = "elementwise " # what # " comparison giving a mask, with broadcasting";
  let arguments = (ins RankedTensorOf<[F32, I32]>:$lhs, RankedTensorOf<[F32, I32]>:$rhs);
  let results = (outs Heed_MaskTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def EqOp : Heed_CompareOp<"eq", "==", "OEQ", "eq">;
def NeOp : Heed_CompareOp<"ne", "!=", "UNE", "ne">;
def LtOp : Heed_CompareOp<"lt", "<", "OLT", "slt">;
def LeOp : Heed_CompareOp<"le", "<=", "OLE", "sle">;
def GtOp : Heed_CompareOp<"gt", ">", "OGT", "sgt">;
def GeOp : Heed_CompareOp<"ge", ">=", "OGE", "sge">;

def WhereOp : Heed_Op<"where", [Pure, Grad, ScalarBody]> {
  let extraClassDefinition = Heed_ScalarBody<[{
    return b.create<::mlir::arith::SelectOp>(loc, args[0], args[1], args[2]);
  }]>.impl;
  let summary = "cond ? a : b, all three broadcast together";
  let arguments = (ins Heed_MaskTensor:$cond, Heed_F32Tensor:$a, Heed_F32Tensor:$b);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$cond `,` $a `,` $b attr-dict `:` functional-type(operands, results)";
}

class Heed_UnaryOp<string mnemonic, string what, code body>
    : Heed_Op<mnemonic, [Pure, Grad, ScalarBody]> {
  let extraClassDefinition = Heed_ScalarBody<body>.impl;
  let summary = what;
  let arguments = (ins Heed_F32Tensor:$x);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
}

def NegOp : Heed_UnaryOp<"neg", "-x",
    [{ return b.create<::mlir::arith::NegFOp>(loc, args[0]); }]>;
def ExpOp : Heed_UnaryOp<"exp", "e^x",
    [{ return b.create<::mlir::math::ExpOp>(loc, args[0]); }]>;
def LogOp : Heed_UnaryOp<"log", "natural logarithm",
    [{ return b.create<::mlir::math::LogOp>(loc, args[0]); }]>;
def SqrtOp : Heed_UnaryOp<"sqrt", "square root",
    [{ return b.create<::mlir::math::SqrtOp>(loc, args[0]); }]>;
def RsqrtOp : Heed_UnaryOp<"rsqrt", "1 / sqrt(x)",
    [{ return scalar::rsqrt(b, loc, args[0]); }]>;
def TanhOp : Heed_UnaryOp<"tanh", "hyperbolic tangent",
    [{ return b.create<::mlir::math::TanhOp>(loc, args[0]); }]>;
def ReluOp : Heed_UnaryOp<"relu", "max(x, 0)",
    [{ return scalar::relu(b, loc, args[0]); }]>;
def GeluOp : Heed_UnaryOp<"gelu", "0.5 x (1 + erf(x / sqrt 2)), the exact GELU",
    [{ return scalar::gelu(b, loc, args[0]); }]>;

def GeluGradOp : Heed_Op<"gelu_grad", [Pure, NoGrad, ScalarBody]> {
  let extraClassDefinition = Heed_ScalarBody<[{ return scalar::geluGrad(b, loc, args[0], args[1]); }]>.impl;
  let summary = "dy * gelu'(x): the backward of gelu";
  let arguments = (ins Heed_F32Tensor:$x, Heed_F32Tensor:$dy);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x `,` $dy attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Linear algebra and layout
//===----------------------------------------------------------------------===//

def MatmulOp : Heed_Op<"matmul", [Pure, Grad, Library]> {
  let summary = "batched matrix product; leading dims broadcast";
  let description = [{
    `a[..., M, K] @ b[..., K, N] -> [..., M, N]`.
    Example: `%y = heed.matmul %x, %w : (tensor<16x128x128xf32>, tensor<128x256xf32>) -> tensor<16x128x256xf32>`
  }];
  let arguments = (ins Heed_F32Tensor:$lhs, Heed_F32Tensor:$rhs);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def TransposeOp : Heed_Op<"transpose", [Pure, Grad, Layout]> {
  let summary = "permutes dimensions: result dim i is operand dim perm[i]";
  let arguments = (ins AnyRankedTensor:$x, DenseI64ArrayAttr:$perm);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$x $perm attr-dict `:` functional-type(operands, results)";
}

def ReshapeOp : Heed_Op<"reshape", [Pure, Grad, Layout]> {
  let summary = "same elements in row-major order, new shape (the result type)";
  let arguments = (ins AnyRankedTensor:$x);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
}

def BroadcastOp : Heed_Op<"broadcast", [Pure, Grad, ScalarBody]> {
  let extraClassDefinition = Heed_ScalarBody<[{ return args[0]; }]>.impl;
  let summary = "numpy broadcast_to the result type's shape";
  let arguments = (ins AnyRankedTensor:$x);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
}

def SumToOp : Heed_Op<"sum_to", [Pure, Grad, DeclareOpInterfaceMethods<Heed_ReductionInterface, ["reducedAxis"]>]> {
  let summary = "sums away the dims that broadcasting the result shape to x's added";
  let description = [{ The gradient of broadcasting: `sum_to(broadcast(y)) == y * count`. }];
  let arguments = (ins Heed_F32Tensor:$x);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Reductions and normalizations
//===----------------------------------------------------------------------===//

class Heed_ReduceOp<string mnemonic, string what>
    : Heed_Op<mnemonic, [Pure, Grad, Reduction]> {
  let summary = what # " over one axis";
  let arguments = (ins Heed_F32Tensor:$x, I64Attr:$axis, DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
}

def SumOp : Heed_ReduceOp<"sum", "sum">;
def MeanOp : Heed_ReduceOp<"mean", "mean">;
def MaxOp : Heed_ReduceOp<"max", "maximum">;

def SoftmaxOp : Heed_Op<"softmax", [Pure, Grad, Reduction, DeclareOpInterfaceMethods<Heed_LibraryCallInterface, ["prefersLibrary"]>]> {
  let summary = "exp(x - max) / sum(exp(x - max)) along an axis";
  let arguments = (ins Heed_F32Tensor:$x, I64Attr:$axis);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
}

def LogSoftmaxOp : Heed_Op<"log_softmax", [Pure, Grad, Reduction]> {
  let summary = "x - max - log(sum(exp(x - max))) along an axis";
  let arguments = (ins Heed_F32Tensor:$x, I64Attr:$axis);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
}

def SoftmaxGradOp : Heed_Op<"softmax_grad", [Pure, NoGrad, Reduction, DeclareOpInterfaceMethods<Heed_LibraryCallInterface, ["prefersLibrary"]>]> {
  let summary = "the backward of softmax: y * (dy - sum(dy * y)) along the axis";
  let description = [{
    A fused backward of its own (one pass over y and dy), so the compiled
    backend can run it as a single kernel or library call.
  }];
  let arguments = (ins Heed_F32Tensor:$y, Heed_F32Tensor:$dy, I64Attr:$axis);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$y `,` $dy attr-dict `:` functional-type(operands, results)";
}

def LayerNormOp : Heed_Op<"layer_norm", [Pure, Grad, Library]> {
  let summary = "normalizes the last axis to zero mean, unit (biased) variance, then scales and shifts";
  let arguments = (ins Heed_F32Tensor:$x, Heed_F32Tensor:$gamma, Heed_F32Tensor:$beta,
                   DefaultValuedAttr<F32Attr, "1e-5">:$eps);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x `,` $gamma `,` $beta attr-dict `:` functional-type(operands, results)";
}

def LayerNormGradOp : Heed_Op<"layer_norm_grad", [Pure, NoGrad, Library]> {
  let summary = "the backward of layer_norm: (dx, dgamma, dbeta)";
  let arguments = (ins Heed_F32Tensor:$x, Heed_F32Tensor:$gamma, Heed_F32Tensor:$dy,
                   DefaultValuedAttr<F32Attr, "1e-5">:$eps);
  let results = (outs Heed_F32Tensor:$dx, Heed_F32Tensor:$dgamma, Heed_F32Tensor:$dbeta);
  let assemblyFormat = "$x `,` $gamma `,` $dy attr-dict `:` functional-type(operands, results)";
}

def SdpaOp : Heed_Op<"sdpa", [Pure, Grad, Library]> {
  let summary = "fused scaled dot-product attention: (out, log-sum-exp) of softmax(masked q k^T * scale) v";
  let description = [{
    `q[B, H, Tq, dh]`, `k[B, H, Tk, dh]`, `v[B, H, Tk, dh]`, optional
    `key_padding[B, Tk]` (true = padding) -> `out[B, H, Tq, dh]`, `lse[B, H, Tq]`.
    Scores are `s[i, j] = scale * q_i . k_j`; a masked score is replaced by -1e9
    (so a row whose keys are all masked attends uniformly to every key), a key
    is masked when it is padding or, with `causal`, when `j > i + Tk - Tq`
    (the last query sees every key: bottom-right alignment, which for Tq == Tk
    is the usual `j > i`). `lse[i] = log sum_j exp(s[i, j])` over the masked
    scores; the backward (`sdpa_grad`) recomputes the probabilities from it.
    With `token_major`, q, k, v and out are `[B, T, H, dh]` instead (each
    token's heads side by side: a `[B, T, H * dh]` projection reshaped, with no
    transpose) and the key padding and lse keep their shapes; the attention
    layer lowers to this form so that no head split or merge is copied.
    Example: `%o, %l = heed.sdpa %q, %k, %v key_padding %m {causal = false, scale = 0.1767767 : f32} : (tensor<2x4x8x32xf32>, tensor<2x4x10x32xf32>, tensor<2x4x10x32xf32>, tensor<2x10xi1>) -> (tensor<2x4x8x32xf32>, tensor<2x4x8xf32>)`
  }];
  let arguments = (ins Heed_F32Tensor:$q, Heed_F32Tensor:$k, Heed_F32Tensor:$v,
                   Optional<Heed_MaskTensor>:$key_padding,
                   DefaultValuedAttr<BoolAttr, "false">:$causal, F32Attr:$scale,
                   DefaultValuedAttr<BoolAttr, "false">:$token_major);
  let results = (outs Heed_F32Tensor:$out, Heed_F32Tensor:$lse);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`key_padding` $key_padding^)? attr-dict `:` functional-type(operands, results)
  }];
}

def SdpaGradOp : Heed_Op<"sdpa_grad", [Pure, NoGrad, AttrSizedOperandSegments, Library]> {
  let summary = "the backward of sdpa: (dq, dk, dv) from the forward's out and lse";
  let description = [{
    Same masks, scale and layout (`token_major`: every `[B, H, T, dh]`
    operand and result is `[B, T, H, dh]`) as the `sdpa` it differentiates. `dout` is the
    gradient of `out`; `dlse` (optional) that of `lse`. With
    `p = exp(s - lse)` and `D_i = dout_i . out_i - dlse_i`:
    `dv = p^T dout`, `ds = p * (dout v^T - D)`, `dq = scale * ds k`,
    `dk = scale * ds^T q`.
  }];
  let arguments = (ins Heed_F32Tensor:$q, Heed_F32Tensor:$k, Heed_F32Tensor:$v,
                   Heed_F32Tensor:$out, Heed_F32Tensor:$lse, Heed_F32Tensor:$dout,
                   Optional<Heed_F32Tensor>:$dlse, Optional<Heed_MaskTensor>:$key_padding,
                   DefaultValuedAttr<BoolAttr, "false">:$causal, F32Attr:$scale,
                   DefaultValuedAttr<BoolAttr, "false">:$token_major);
  let results = (outs Heed_F32Tensor:$dq, Heed_F32Tensor:$dk, Heed_F32Tensor:$dv);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $out `,` $lse `,` $dout (`dlse` $dlse^)? (`key_padding` $key_padding^)?
    attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Embeddings, constants, randomness, loss
//===----------------------------------------------------------------------===//

def GatherOp : Heed_Op<"gather", [Pure, Grad, Library]> {
  let summary = "rows of table[V, D] at ids[...] -> [..., D]";
  let arguments = (ins Heed_F32Tensor:$table, Heed_IdTensor:$ids);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$table `,` $ids attr-dict `:` functional-type(operands, results)";
}

def ScatterAddOp : Heed_Op<"scatter_add", [Pure, NoGrad, Library]> {
  let summary = "the backward of gather: out[V, D] with out[ids[i]] += dy[i]";
  let arguments = (ins Heed_F32Tensor:$dy, Heed_IdTensor:$ids);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$dy `,` $ids attr-dict `:` functional-type(operands, results)";
}

def ConstantOp : Heed_Op<"constant", [Pure, NoGrad, Layout, ConstantLike, AllTypesMatch<["value", "result"]>]> {
  let summary = "a dense constant tensor";
  let arguments = (ins TypedAttrInterface:$value);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def SinusoidalOp : Heed_Op<"sinusoidal", [Pure, NoGrad, Layout]> {
  let summary = "the paper's positional table: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)";
  let arguments = (ins);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

def DropoutOp : Heed_Op<"dropout", [Grad, Library]> {
  let summary = "zeroes each element with probability p, scales the rest by 1/(1-p)";
  let description = [{
    The mask is a pure function of (seed, training step, element index), from a
    counter-based generator: every backend and every resumed run sees the same
    masks. Identity when not training, and folded away when p = 0 (so nothing
    stands between a matmul and the residual add that follows it).
  }];
  let arguments = (ins Heed_F32Tensor:$x, F32Attr:$p, I64Attr:$seed);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def CrossEntropyOp : Heed_Op<"cross_entropy", [Pure, Grad, Library]> {
  let summary = "mean token cross-entropy with label smoothing and an ignored id";
  let description = [{
    Mean over positions whose target is not `ignore_index` (-1: none) of
    `(1 - s) * -log p[t] + s * mean_c(-log p[c])`, as PyTorch computes it.
  }];
  let arguments = (ins Heed_F32Tensor:$logits, Heed_IdTensor:$targets,
                   DefaultValuedAttr<F32Attr, "0.0">:$smoothing,
                   DefaultValuedAttr<I64Attr, "-1">:$ignore_index);
  let results = (outs Heed_F32Scalar:$result);
  let assemblyFormat = "$logits `,` $targets attr-dict `:` functional-type(operands, results)";
}

def CrossEntropyGradOp : Heed_Op<"cross_entropy_grad", [Pure, NoGrad, Library]> {
  let summary = "the backward of cross_entropy with respect to the logits";
  let arguments = (ins Heed_F32Tensor:$logits, Heed_IdTensor:$targets, Heed_F32Scalar:$dloss,
                   DefaultValuedAttr<F32Attr, "0.0">:$smoothing,
                   DefaultValuedAttr<I64Attr, "-1">:$ignore_index);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$logits `,` $targets `,` $dloss attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Parameters and layers (layers are decomposed by heed-decompose)
//===----------------------------------------------------------------------===//

def ParamOp : Heed_Op<"param", [Pure, NoGrad, Library]> {
  let summary = "a trainable parameter, named by its dot-path";
  let description = [{
    `init` says how it starts: `normal(std)`, `uniform(a, b)`, `zeros`, `ones`,
    `load("file.npy")`. `frozen` parameters get no gradient.
    Example: `%w = heed.param "decoder_layer.0.attention.w_q" {init = "uniform(-0.15, 0.15)"} : tensor<128x128xf32>`
  }];
  let arguments = (ins StrAttr:$name, StrAttr:$init, UnitAttr:$frozen);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

def EmbeddingOp : Heed_LayerOp<"embedding", [Pure]> {
  let summary = "layer: token ids to vectors (a gather from the table parameter)";
  let arguments = (ins Heed_IdTensor:$ids, Heed_F32Tensor:$table);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$ids `,` $table attr-dict `:` functional-type(operands, results)";
}

def PositionalEncodingOp : Heed_LayerOp<"positional_encoding", [Pure]> {
  let summary = "layer: [len, dim] position vectors, sinusoidal or learned";
  let arguments = (ins Optional<Heed_F32Tensor>:$table, StrAttr:$kind);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "($table^)? attr-dict `:` functional-type(operands, results)";
}

def LinearOp : Heed_LayerOp<"linear", [Pure]> {
  let summary = "layer: x @ w + b";
  let arguments = (ins Heed_F32Tensor:$x, Heed_F32Tensor:$w, Optional<Heed_F32Tensor>:$b);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x `,` $w (`,` $b^)? attr-dict `:` functional-type(operands, results)";
}

def FeedForwardOp : Heed_LayerOp<"feed_forward", [Pure]> {
  let summary = "layer: linear, activation (relu or gelu), linear";
  let arguments = (ins Heed_F32Tensor:$x, Heed_F32Tensor:$w1, Heed_F32Tensor:$b1, Heed_F32Tensor:$w2,
                   Heed_F32Tensor:$b2, StrAttr:$act);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = "$x `,` $w1 `,` $b1 `,` $w2 `,` $b2 attr-dict `:` functional-type(operands, results)";
}

def AttentionOp : Heed_LayerOp<"attention", [Pure]> {
  let summary = "layer: multi-head scaled dot-product attention with projections";
  let description = [{
    Self-attention when `q_in` and `kv_in` are the same value, cross-attention
    otherwise. `causal` masks keys after the query position; `key_padding`
    ([batch, kv_len], true = padding) masks padded keys. Scores are scaled by
    1/sqrt(d_model / heads).
  }];
  let arguments = (ins Heed_F32Tensor:$q_in, Heed_F32Tensor:$kv_in,
                   Heed_F32Tensor:$w_q, Heed_F32Tensor:$b_q, Heed_F32Tensor:$w_k, Heed_F32Tensor:$b_k,
                   Heed_F32Tensor:$w_v, Heed_F32Tensor:$b_v, Heed_F32Tensor:$w_o, Heed_F32Tensor:$b_o,
                   Optional<Heed_MaskTensor>:$key_padding,
                   I64Attr:$heads, DefaultValuedAttr<BoolAttr, "false">:$causal);
  let results = (outs Heed_F32Tensor:$result);
  let assemblyFormat = [{
    $q_in `,` $kv_in `,` $w_q `,` $b_q `,` $w_k `,` $b_k `,` $w_v `,` $b_v `,` $w_o `,` $b_o
    (`key_padding` $key_padding^)? attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

def OptimizerStepOp : Heed_Op<"optimizer_step", [NoGrad, Library, MemoryEffects<[MemWrite]>]> {
  let summary = "applies the optimizer to every trainable parameter, given its gradient";
  let description = [{
    The last op of `train_step`: `names[i]` is the parameter whose gradient is
    `grads[i]`. The run context's optimizer (Adam by default, the paper's
    settings) clips by global norm and updates parameters and their moments.
  }];
  let arguments = (ins Variadic<Heed_F32Tensor>:$grads, StrArrayAttr:$names);
  let results = (outs);
  let assemblyFormat = "($grads^ `:` type($grads))? attr-dict";
}

#endif // HEED_OPS
