//===- ShapeRules.cpp - shape rules shared by frontend and verifiers -----===//

#include "ops/ShapeRules.h"

#include <sstream>

namespace heed {

static std::string dimStr(const Dim &d) {
  return d.name.empty() ? std::to_string(d.size) : d.name;
}

std::string toString(const NShape &s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += dimStr(s[i]);
  }
  return out + "]";
}

std::string toStringWithSizes(const NShape &s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += s[i].name.empty() ? std::to_string(s[i].size)
                             : s[i].name + "=" + std::to_string(s[i].size);
  }
  return out + "]";
}

NShape anonymous(const std::vector<int64_t> &sizes) {
  NShape s;
  for (int64_t v : sizes) s.push_back({v, ""});
  return s;
}

std::vector<int64_t> sizes(const NShape &s) {
  std::vector<int64_t> out;
  for (const Dim &d : s) out.push_back(d.size);
  return out;
}

int64_t numElements(const NShape &s) {
  int64_t n = 1;
  for (const Dim &d : s) n *= d.size;
  return n;
}

std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

/// "x is [batch, seq, d_model]" or "[batch, seq, d_model]" if the operand has no name.
static std::string describe(const std::string &name, const NShape &s) {
  return name.empty() ? toString(s) : "'" + name + "' is " + toString(s);
}

/// When two dims of equal size both have names that differ, show sizes too, and when
/// they differ in size but have the same name text, show sizes so the message is not
/// "seq vs seq".
static std::string pair(const std::string &op, const std::string &what, const NShape &a,
                        const std::string &aName, const NShape &b, const std::string &bName) {
  std::string sa = describe(aName, a), sb = describe(bName, b);
  if (sa == sb || toString(a) == toString(b)) {
    sa = (aName.empty() ? "" : "'" + aName + "' is ") + toStringWithSizes(a);
    sb = (bName.empty() ? "" : "'" + bName + "' is ") + toStringWithSizes(b);
  }
  return op + ": " + what + ": " + sa + " but " + sb;
}

/// A number where the model means a named dimension (64 vs d_model): say to use the
/// name where that number was written. "" for any other pair.
static std::string namingHint(const Dim &a, const Dim &b) {
  if (a.name.empty() == b.name.empty()) return "";
  const Dim &anon = a.name.empty() ? a : b, &named = a.name.empty() ? b : a;
  return "if the " + std::to_string(anon.size) + " should be " + named.name + " (" +
         std::to_string(named.size) + "), write '" + named.name +
         "' where it is set, e.g. 'dim: " + named.name + "' of an embedding or 'out: " + named.name +
         "' of a linear";
}

static Dim mergeDim(const Dim &a, const Dim &b) {
  // Prefer the side that is not a stretched 1, then a named side.
  if (a.size == 1 && b.size != 1) return b;
  if (b.size == 1 && a.size != 1) return a;
  return a.name.empty() ? b : a;
}

ShapeResult broadcastShapes(const std::string &op, const NShape &a, const std::string &aName,
                            const NShape &b, const std::string &bName) {
  size_t rank = std::max(a.size(), b.size());
  NShape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Align from the right.
    bool hasA = i < a.size(), hasB = i < b.size();
    const Dim *da = hasA ? &a[a.size() - 1 - i] : nullptr;
    const Dim *db = hasB ? &b[b.size() - 1 - i] : nullptr;
    Dim &o = out[rank - 1 - i];
    if (!da) { o = *db; continue; }
    if (!db) { o = *da; continue; }
    if (da->size != db->size && da->size != 1 && db->size != 1)
      return ShapeResult::fail(pair(op, "shapes do not broadcast (dimension " + dimStr(*da) +
                                            " vs " + dimStr(*db) + ")",
                                    a, aName, b, bName),
                               namingHint(*da, *db));
    o = mergeDim(*da, *db);
  }
  return ShapeResult::ok(out);
}

ShapeResult broadcastToShape(const NShape &from, const NShape &to) {
  if (from.size() > to.size())
    return ShapeResult::fail("broadcast: cannot broadcast " + toString(from) + " to the lower rank " +
                             toString(to));
  for (size_t i = 0; i < from.size(); ++i) {
    const Dim &f = from[from.size() - 1 - i], &t = to[to.size() - 1 - i];
    if (f.size != t.size && f.size != 1)
      return ShapeResult::fail("broadcast: cannot broadcast " + toString(from) + " to " +
                               toString(to));
  }
  return ShapeResult::ok(to);
}

ShapeResult matmulShape(const NShape &a, const std::string &aName, const NShape &b,
                        const std::string &bName) {
  if (a.size() < 2 || b.size() < 2)
    return ShapeResult::fail(pair("matmul", "both operands need rank 2 or more", a, aName, b, bName));
  const Dim &k1 = a[a.size() - 1], &k2 = b[b.size() - 2];
  if (k1.size != k2.size)
    return ShapeResult::fail(pair("matmul", "inner dimensions differ (" + dimStr(k1) + " vs " +
                                                dimStr(k2) + ")",
                                  a, aName, b, bName),
                             namingHint(k1, k2));
  NShape ab(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  ShapeResult batch = broadcastShapes("matmul", ab, "", bb, "");
  if (!batch)
    return ShapeResult::fail(pair("matmul", "batch dimensions do not broadcast", a, aName, b, bName));
  NShape out = *batch.shape;
  out.push_back(a[a.size() - 2]);
  out.push_back(b[b.size() - 1]);
  return ShapeResult::ok(out);
}

ShapeResult transposeShape(const NShape &x, const std::vector<int64_t> &perm) {
  if (perm.size() != x.size())
    return ShapeResult::fail("transpose: permutation has " + std::to_string(perm.size()) +
                             " entries but the operand " + toString(x) + " has rank " +
                             std::to_string(x.size()));
  std::vector<bool> seen(x.size(), false);
  NShape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= (int64_t)x.size() || seen[p])
      return ShapeResult::fail("transpose: invalid permutation of " + toString(x));
    seen[p] = true;
    out.push_back(x[p]);
  }
  return ShapeResult::ok(out);
}

ShapeResult reshapeShape(const NShape &x, const std::string &xName, const NShape &target) {
  for (const Dim &d : target)
    if (d.size <= 0)
      return ShapeResult::fail("reshape: target dimensions must be positive, got " + toString(target));
  if (numElements(x) != numElements(target))
    return ShapeResult::fail("reshape: element counts differ: " + describe(xName, x) + " (" +
                             std::to_string(numElements(x)) + " elements) but the target " +
                             toString(target) + " has " + std::to_string(numElements(target)));
  return ShapeResult::ok(target);
}

ShapeResult reduceShape(const std::string &op, const NShape &x, int64_t axis, bool keepdim) {
  auto ax = normalizeAxis(axis, (int64_t)x.size());
  if (!ax)
    return ShapeResult::fail(op + ": axis " + std::to_string(axis) + " is out of range for " +
                             toString(x) + " (rank " + std::to_string(x.size()) + ")");
  NShape out;
  for (int64_t i = 0; i < (int64_t)x.size(); ++i) {
    if (i == *ax) {
      if (keepdim) out.push_back({1, ""});
    } else {
      out.push_back(x[i]);
    }
  }
  return ShapeResult::ok(out);
}

ShapeResult axisShape(const std::string &op, const NShape &x, int64_t axis) {
  if (!normalizeAxis(axis, (int64_t)x.size()))
    return ShapeResult::fail(op + ": axis " + std::to_string(axis) + " is out of range for " +
                             toString(x) + " (rank " + std::to_string(x.size()) + ")");
  return ShapeResult::ok(x);
}

ShapeResult gatherShape(const NShape &table, const NShape &ids) {
  if (table.size() != 2)
    return ShapeResult::fail("gather: the table must be [rows, dim], got " + toString(table));
  NShape out = ids;
  out.push_back(table[1]);
  return ShapeResult::ok(out);
}

ShapeResult layerNormShape(const NShape &x, const NShape &gamma, const NShape &beta) {
  if (x.empty()) return ShapeResult::fail("layer_norm: the input must have rank 1 or more");
  const Dim &d = x.back();
  if (gamma.size() != 1 || gamma[0].size != d.size || beta.size() != 1 || beta[0].size != d.size)
    return ShapeResult::fail("layer_norm: scale and shift must be [" + dimStr(d) + "], got " +
                             toString(gamma) + " and " + toString(beta));
  return ShapeResult::ok(x);
}

ShapeResult crossEntropyShape(const NShape &logits, const std::string &logitsName,
                              const NShape &targets, const std::string &targetsName) {
  if (logits.size() != targets.size() + 1)
    return ShapeResult::fail(pair("cross_entropy",
                                  "logits need exactly one more dimension (the classes) than targets",
                                  logits, logitsName, targets, targetsName));
  for (size_t i = 0; i < targets.size(); ++i)
    if (logits[i].size != targets[i].size)
      return ShapeResult::fail(pair("cross_entropy",
                                    "leading dimensions of logits and targets differ (" +
                                        dimStr(logits[i]) + " vs " + dimStr(targets[i]) + ")",
                                    logits, logitsName, targets, targetsName));
  return ShapeResult::ok({});
}

ShapeResult linearShape(const NShape &x, const std::string &xName, const NShape &w,
                        const NShape *b) {
  if (x.empty()) return ShapeResult::fail("linear: the input must have rank 1 or more");
  if (w.size() != 2)
    return ShapeResult::fail("linear: the weight must be [in, out], got " + toString(w));
  if (x.back().size != w[0].size)
    return ShapeResult::fail(pair("linear", "input features differ from the weight's (" +
                                                dimStr(x.back()) + " vs " + dimStr(w[0]) + ")",
                                  x, xName, w, "weight"));
  if (b && (b->size() != 1 || (*b)[0].size != w[1].size))
    return ShapeResult::fail("linear: the bias must be [" + dimStr(w[1]) + "], got " + toString(*b));
  NShape out = x;
  out.back() = w[1];
  return ShapeResult::ok(out);
}

ShapeResult attentionShape(const NShape &q, const std::string &qName, const NShape &kv,
                           const std::string &kvName, int64_t heads, const NShape *keyPadding,
                           const std::string &maskName) {
  if (q.size() != 3)
    return ShapeResult::fail("attention: the query input must be [batch, length, d_model], but " +
                             describe(qName, q));
  if (kv.size() != 3)
    return ShapeResult::fail("attention: the key/value input must be [batch, length, d_model], but " +
                             describe(kvName, kv));
  if (q[0].size != kv[0].size || q[2].size != kv[2].size)
    return ShapeResult::fail(pair("attention", "query and key/value inputs differ in batch or width",
                                  q, qName, kv, kvName));
  if (heads <= 0)
    return ShapeResult::fail("attention: heads must be a positive integer, got " +
                             std::to_string(heads));
  if (q[2].size % heads != 0) {
    // The fix is a head count that divides the model width: list them.
    std::vector<int64_t> small, large;
    for (int64_t d = 1; d * d <= q[2].size; ++d)
      if (q[2].size % d == 0) {
        small.push_back(d);
        if (d != q[2].size / d) large.insert(large.begin(), q[2].size / d);
      }
    small.insert(small.end(), large.begin(), large.end());
    std::string list;
    for (size_t i = 0; i < small.size() && i < 24; ++i) list += (i ? ", " : "") + std::to_string(small[i]);
    if (small.size() > 24) list += ", ...";
    return ShapeResult::fail("attention: " + dimStr(q[2]) + " (" + std::to_string(q[2].size) +
                             ") is not divisible by heads (" + std::to_string(heads) + ")",
                             "heads must divide " + dimStr(q[2]) + " (" + std::to_string(q[2].size) +
                                 "): " + list);
  }
  if (keyPadding) {
    NShape expect = {kv[0], kv[1]};
    if (keyPadding->size() != 2 || (*keyPadding)[0].size != kv[0].size ||
        (*keyPadding)[1].size != kv[1].size)
      return ShapeResult::fail("attention: key_padding mask must be " + toString(expect) +
                               " to mask scores [" + dimStr(q[0]) + ", heads, " + dimStr(q[1]) +
                               ", " + dimStr(kv[1]) + "], but " + describe(maskName, *keyPadding));
  }
  return ShapeResult::ok(q);
}

ShapeResult sdpaShape(const NShape &q, const NShape &k, const NShape &v, const NShape *keyPadding,
                      bool tokenMajor) {
  // Axes of (heads, length): [B, H, T, dh], or [B, T, H, dh] token-major.
  const size_t ha = tokenMajor ? 2 : 1, ta = tokenMajor ? 1 : 2;
  const char *form = tokenMajor ? "[batch, length, heads, head_dim] (token_major)"
                                : "[batch, heads, length, head_dim]";
  if (q.size() != 4 || k.size() != 4 || v.size() != 4)
    return ShapeResult::fail(std::string("sdpa: q, k and v must be ") + form + ", got q " +
                             toString(q) + ", k " + toString(k) + ", v " + toString(v));
  if (k != v)
    return ShapeResult::fail(pair("sdpa", "k and v differ in shape", k, "k", v, "v"));
  if (q[0].size != k[0].size || q[ha].size != k[ha].size || q[3].size != k[3].size)
    return ShapeResult::fail(pair("sdpa", "q and k differ in batch, heads or head_dim", q, "q", k, "k"));
  if (keyPadding && (keyPadding->size() != 2 || (*keyPadding)[0].size != k[0].size ||
                     (*keyPadding)[1].size != k[ta].size))
    return ShapeResult::fail("sdpa: key_padding must be [" + dimStr(k[0]) + ", " + dimStr(k[ta]) +
                             "], got " + toString(*keyPadding));
  return ShapeResult::ok(q);
}

}  // namespace heed
