//===- ShapeRules.h - every op's shape rule, in the user's names -*- C++ -*-===//
//
// One function per op family computes the result shape from the operand shapes
// or explains, in the model's own dimension names, why it cannot. The frontend
// calls these with named dims (so errors read "[batch, seq, d_model]"); the MLIR
// verifiers call the same rules with anonymous dims (sizes only). Keeping the
// rule in one place means the checker and the verifier can never disagree.
//
// No MLIR types here: a rule sees sizes and names, nothing else.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace heed {

/// One dimension: its size and, when the user named it, that name.
struct Dim {
  int64_t size = 0;
  std::string name;  // "" when anonymous
  bool operator==(const Dim &o) const { return size == o.size; }
};
using NShape = std::vector<Dim>;

/// "[batch, seq, 128]": names where known, sizes otherwise.
std::string toString(const NShape &s);
/// "[batch=16, seq=128, 128]": names with their sizes, for mismatch messages.
std::string toStringWithSizes(const NShape &s);
NShape anonymous(const std::vector<int64_t> &sizes);
std::vector<int64_t> sizes(const NShape &s);
int64_t numElements(const NShape &s);

/// A rule either gives a shape or a message (lower-case, no final period).
struct ShapeResult {
  std::optional<NShape> shape;
  std::string error;
  /// How to fix it, when the rule can tell (shown as a note), else "".
  std::string hint;
  static ShapeResult ok(NShape s) { return {std::move(s), {}, {}}; }
  static ShapeResult fail(std::string msg, std::string hint = {}) {
    return {std::nullopt, std::move(msg), std::move(hint)};
  }
  explicit operator bool() const { return shape.has_value(); }
};

/// Normalizes a possibly negative axis; nullopt if out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

// Operand names (`lhsName`, ...) are how the message refers to the operands:
// the user's variable names where the frontend knows them, else "lhs"/"rhs".

/// numpy broadcasting of two shapes (add, sub, mul, div, comparisons, where).
ShapeResult broadcastShapes(const std::string &op, const NShape &a, const std::string &aName,
                            const NShape &b, const std::string &bName);
/// Is `from` broadcastable to exactly `to`?
ShapeResult broadcastToShape(const NShape &from, const NShape &to);
/// a[..., M, K] @ b[..., K, N] -> [..., M, N], leading dims broadcast.
ShapeResult matmulShape(const NShape &a, const std::string &aName, const NShape &b,
                        const std::string &bName);
ShapeResult transposeShape(const NShape &x, const std::vector<int64_t> &perm);
ShapeResult reshapeShape(const NShape &x, const std::string &xName, const NShape &target);
ShapeResult reduceShape(const std::string &op, const NShape &x, int64_t axis, bool keepdim);
ShapeResult axisShape(const std::string &op, const NShape &x, int64_t axis);  // softmax
/// table[V, D], ids[...] -> [..., D]
ShapeResult gatherShape(const NShape &table, const NShape &ids);
/// x[..., D], gamma[D], beta[D]
ShapeResult layerNormShape(const NShape &x, const NShape &gamma, const NShape &beta);
/// logits[..., V], targets[...] -> scalar
ShapeResult crossEntropyShape(const NShape &logits, const std::string &logitsName,
                              const NShape &targets, const std::string &targetsName);
/// x[..., in], w[in, out], b[out]? -> [..., out]
ShapeResult linearShape(const NShape &x, const std::string &xName, const NShape &w,
                        const NShape *b);
/// q_in[B, Tq, D], kv_in[B, Tk, D], key_padding[B, Tk]? -> [B, Tq, D]
ShapeResult attentionShape(const NShape &q, const std::string &qName, const NShape &kv,
                           const std::string &kvName, int64_t heads, const NShape *keyPadding,
                           const std::string &maskName);

/// q[B, H, Tq, dh], k[B, H, Tk, dh], v[B, H, Tk, dh], key_padding[B, Tk]? -> out [B, H, Tq, dh]
/// (sdpa; its second result, the log-sum-exp, is [B, H, Tq]). With tokenMajor q, k, v and
/// out are [B, T, H, dh] instead (lse and key_padding unchanged).
ShapeResult sdpaShape(const NShape &q, const NShape &k, const NShape &v, const NShape *keyPadding,
                      bool tokenMajor = false);

}  // namespace heed
