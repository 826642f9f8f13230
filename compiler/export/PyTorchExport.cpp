//===- PyTorchExport.cpp - model.py from the heed graph -------------------===//

#include "compiler/export/PyTorchExport.h"

#include "compiler/export/ModelSignature.h"
#include "ops/HeedDialect.h"
#include "runtime/AtomicFile.h"
#include "runtime/Checkpoint.h"
#include "runtime/Error.h"
#include "runtime/Npz.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SetVector.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace mlir;

namespace heed {

extern const char *const kPyTorchPrelude;

namespace {

/// nn.Module attributes (torch 1.13; tests/export/pytorch_oracle.py compares the list
/// with torch's): a submodule of that name cannot be registered.
const std::set<std::string> kModuleAttributes = {
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "children", "cpu", "cuda", "double",
    "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer", "get_extra_state",
    "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "named_buffers",
    "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_load_state_dict_post_hook", "register_module", "register_parameter", "requires_grad_",
    "set_extra_state", "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "xpu",
    "zero_grad"};
/// The generated Model's own attributes: load() sets `tokenizer`.
const std::set<std::string> kGeneratedAttributes = {"tokenizer"};

const std::set<std::string> kPythonKeywords = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
    "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is",
    "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield"};

/// The shortest decimal that reads back as the same float (heed's attributes and
/// constants are f32): 0.1, not 0.100000001.
std::string num(double v) {
  char buf[40];
  for (int precision = 6; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if ((float)std::strtod(buf, nullptr) == (float)v) break;
  }
  std::string s = buf;
  if (s == "inf") return "math.inf";
  if (s == "-inf") return "-math.inf";
  if (s == "nan") return "math.nan";
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string tuple(ArrayRef<int64_t> v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

std::string list(ArrayRef<int64_t> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string pyString(const std::string &s) { return nlohmann::json(s).dump(); }

ArrayRef<int64_t> shapeOfValue(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

const char *torchDtype(Type element) {
  if (element.isF32()) return "torch.float32";
  if (element.isInteger(32)) return "torch.int32";
  if (element.isInteger(1)) return "torch.bool";
  if (element.isF64()) return "torch.float64";
  return "torch.int64";
}

/// A constant as a torch expression: splats as torch.full, the causal mask as a
/// triu, anything else as a literal list.
std::string constantExpr(DenseElementsAttr a) {
  auto ty = cast<RankedTensorType>(a.getType());
  Type e = ty.getElementType();
  auto element = [&](int64_t i) -> std::string {
    if (e.isInteger(1)) return a.getValues<bool>()[i] ? "True" : "False";
    if (e.isIntOrIndex()) return std::to_string(a.getValues<APInt>()[i].getSExtValue());
    return num(a.getValues<APFloat>()[i].convertToDouble());
  };
  std::string dtype = torchDtype(e);
  if (a.isSplat()) {
    if (ty.getRank() == 0) return "torch.tensor(" + element(0) + ", dtype=" + dtype + ")";
    return "torch.full(" + tuple(ty.getShape()) + ", " + element(0) + ", dtype=" + dtype + ")";
  }
  if (e.isInteger(1) && ty.getRank() == 2 && ty.getDimSize(0) == ty.getDimSize(1)) {
    int64_t n = ty.getDimSize(0);
    bool triu = true;
    auto vals = a.getValues<bool>();
    for (int64_t i = 0; i < n && triu; ++i)
      for (int64_t j = 0; j < n && triu; ++j) triu = vals[i * n + j] == (j > i);
    if (triu) return "torch.ones(" + std::to_string(n) + ", " + std::to_string(n) + ", dtype=torch.bool).triu(1)";
  }
  std::string s = "torch.tensor([";
  for (int64_t i = 0; i < ty.getNumElements(); ++i) s += (i ? ", " : "") + element(i);
  return s + "], dtype=" + dtype + ").reshape(" + tuple(ty.getShape()) + ")";
}

std::string locationComment(Location loc) {
  if (auto f = dyn_cast<FileLineColLoc>(loc))
    return "  # " + fs::path(f.getFilename().str()).filename().string() + ":" + std::to_string(f.getLine());
  return "";
}

class Generator {
public:
  Generator(func::FuncOp fn, func::FuncOp twinFn) : fn(fn), twinFn(twinFn) {}

  LogicalResult run(PyTorchModel &out);

private:
  func::FuncOp fn;
  // The same model imported at another batch: a size that differs between the two
  // is written in terms of the batch, so model.py runs at any batch. (It lives in
  // another MLIRContext: compare names and shapes, never types or op names.)
  func::FuncOp twinFn;
  int64_t batch = 0, twinBatch = 0;
  llvm::DenseMap<Operation *, Operation *> twin;
  bool batchFixed = true;  // no twin, or a size that is not a linear function of the batch
  llvm::DenseMap<Value, std::string> names;     // python variable of each value
  std::map<std::string, std::string> modules;   // path -> constructor
  std::vector<std::string> moduleOrder;
  std::vector<ExportedParam> params;
  std::map<std::string, size_t> paramIndex;     // heed name -> params index

  std::string v(Value x) { return names.lookup(x); }

  /// The shape of op's result i as a Python tuple, sizes that follow the batch as
  /// `k * batch + c`.
  std::string shapeTuple(Operation *op, unsigned i = 0) {
    auto shape = shapeOfValue(op->getResult(i));
    Operation *t = twin.lookup(op);
    if (batchFixed || !t) return tuple(shape);
    auto other = shapeOfValue(t->getResult(i));
    std::string out = "(";
    for (size_t d = 0; d < shape.size(); ++d) {
      std::string e = std::to_string(shape[d]);
      int64_t diff = other[d] - shape[d];
      if (diff != 0) {
        if (diff % (twinBatch - batch) != 0) {
          batchFixed = true;  // not linear in the batch: model.py keeps the export's sizes
        } else {
          int64_t k = diff / (twinBatch - batch), c = shape[d] - k * batch;
          e = (k == 1 ? std::string("batch") : std::to_string(k) + " * batch");
          if (c) e += (c > 0 ? " + " : " - ") + std::to_string(c > 0 ? c : -c);
        }
      }
      out += (d ? ", " : "") + e;
    }
    return out + (shape.size() == 1 ? ",)" : ")");
  }
  /// Sizes model.py bakes in must not depend on the batch: a layer's parameters,
  /// and (`results`) a table or non-splat constant.
  void requireSameShapes(Operation *op, bool results) {
    Operation *t = twin.lookup(op);
    if (!t) return;
    for (unsigned i = 0; i < op->getNumOperands(); ++i)
      if (op->getOperand(i).getDefiningOp<ParamOp>() && shapeOfValue(op->getOperand(i)) != shapeOfValue(t->getOperand(i)))
        batchFixed = true;
    if (results)
      for (unsigned i = 0; i < op->getNumResults(); ++i)
        if (shapeOfValue(op->getResult(i)) != shapeOfValue(t->getResult(i))) batchFixed = true;
  }

  /// The layer's module path from its parameters (all share it), registering the
  /// heed -> PyTorch names. `roles` pairs each parameter operand with its PyTorch leaf.
  FailureOr<std::string> layer(Operation *op, const std::string &ctor,
                               ArrayRef<std::tuple<Value, const char *, bool>> roles) {
    std::string path;
    for (auto &[value, leaf, transpose] : roles) {
      auto p = value.getDefiningOp<ParamOp>();
      if (!p) return (op->emitError() << "heed export: a parameter operand of '" << op->getName()
                                      << "' is not a parameter"), failure();
      std::string name = p.getName().str();
      size_t dot = name.rfind('.');
      if (dot == std::string::npos || dot == 0)
        return (op->emitError() << "heed export: parameter '" << name << "' has no layer path"), failure();
      std::string prefix = name.substr(0, dot);
      if (!path.empty() && prefix != path)
        return (op->emitError() << "heed export: the parameters of this layer live under two paths ('" << path
                                << "' and '" << prefix << "')"), failure();
      path = prefix;
      if (paramIndex.count(name))
        return (op->emitError() << "heed export: parameter '" << name
                                << "' is used by two layers; PyTorch modules own their parameters"), failure();
      paramIndex[name] = params.size();
      params.push_back({name, path + "." + leaf, transpose, p.getFrozen()});
    }
    std::string start;
    for (const std::string &part : split(path)) {
      if (kModuleAttributes.count(part) || part == "_m" || part.empty())
        return (op->emitError() << "heed export: PyTorch cannot name a submodule '" << part << "' (in '" << path
                                << "'): it is an nn.Module attribute; rename the block or layer"), failure();
    }
    if (std::string top = path.substr(0, path.find('.')); kGeneratedAttributes.count(top))
      return (op->emitError() << "heed export: the generated model cannot have a submodule '" << top << "' (in '"
                              << path << "'): model.py's load() sets model." << top << "; rename the block or layer"),
             failure();
    for (const std::string &other : moduleOrder) {
      if (other == path)
        return (op->emitError() << "heed export: two layers share the parameter path '" << path << "'"), failure();
      if (other.rfind(path + ".", 0) == 0 || path.rfind(other + ".", 0) == 0)
        return (op->emitError() << "heed export: layer path '" << path << "' and '" << other
                                << "' nest, which PyTorch modules cannot (a layer has no sublayers)"), failure();
    }
    modules[path] = ctor;
    moduleOrder.push_back(path);
    return path;
  }

  static std::vector<std::string> split(const std::string &path) {
    std::vector<std::string> parts;
    std::stringstream ss(path);
    std::string p;
    while (std::getline(ss, p, '.')) parts.push_back(p);
    return parts;
  }

  FailureOr<std::string> expr(Operation *op);
};

FailureOr<std::string> Generator::expr(Operation *op) {
  auto operand = [&](unsigned i) { return v(op->getOperand(i)); };
  auto binary = [&](const char *sym) { return operand(0) + " " + sym + " " + operand(1); };
  auto call = [&](const std::string &f) { return f + "(" + operand(0) + ")"; };
  auto module = [&](const std::string &path) { return "self._m(" + pyString(path) + ")"; };

  if (isa<AddOp>(op)) return binary("+");
  if (isa<SubOp>(op)) return binary("-");
  if (isa<MulOp>(op)) return binary("*");
  if (isa<DivOp>(op)) return binary("/");
  if (isa<EqOp>(op)) return binary("==");
  if (isa<NeOp>(op)) return binary("!=");
  if (isa<LtOp>(op)) return binary("<");
  if (isa<LeOp>(op)) return binary("<=");
  if (isa<GtOp>(op)) return binary(">");
  if (isa<GeOp>(op)) return binary(">=");
  if (isa<WhereOp>(op)) return "torch.where(" + operand(0) + ", " + operand(1) + ", " + operand(2) + ")";
  if (isa<NegOp>(op)) return "-" + operand(0);
  if (isa<ExpOp>(op)) return call("torch.exp");
  if (isa<LogOp>(op)) return call("torch.log");
  if (isa<SqrtOp>(op)) return call("torch.sqrt");
  if (isa<RsqrtOp>(op)) return call("torch.rsqrt");
  if (isa<TanhOp>(op)) return call("torch.tanh");
  if (isa<ReluOp>(op)) return call("F.relu");
  if (isa<GeluOp>(op)) return call("F.gelu");
  if (isa<MatmulOp>(op)) return "torch.matmul(" + operand(0) + ", " + operand(1) + ")";
  if (auto t = dyn_cast<TransposeOp>(op)) {
    std::string s = operand(0) + ".permute(";
    auto perm = t.getPerm();
    for (size_t i = 0; i < perm.size(); ++i) s += (i ? ", " : "") + std::to_string((int64_t)perm[i]);
    return s + ")";
  }
  if (isa<ReshapeOp>(op)) return operand(0) + ".reshape(" + shapeTuple(op) + ")";
  if (isa<BroadcastOp>(op)) return "torch.broadcast_to(" + operand(0) + ", " + shapeTuple(op) + ")";
  auto reduce = [&](const char *f, int64_t axis, bool keep) {
    return std::string(f) + "(" + operand(0) + ", dim=" + std::to_string(axis) + ", keepdim=" + (keep ? "True" : "False") + ")";
  };
  if (auto r = dyn_cast<SumOp>(op)) return reduce("torch.sum", (int64_t)r.getAxis(), r.getKeepdim());
  if (auto r = dyn_cast<MeanOp>(op)) return reduce("torch.mean", (int64_t)r.getAxis(), r.getKeepdim());
  if (auto r = dyn_cast<MaxOp>(op)) return reduce("torch.amax", (int64_t)r.getAxis(), r.getKeepdim());
  if (auto s = dyn_cast<SoftmaxOp>(op)) return "torch.softmax(" + operand(0) + ", dim=" + std::to_string((int64_t)s.getAxis()) + ")";
  if (auto s = dyn_cast<LogSoftmaxOp>(op))
    return "torch.log_softmax(" + operand(0) + ", dim=" + std::to_string((int64_t)s.getAxis()) + ")";
  if (isa<GatherOp>(op)) return "F.embedding(" + operand(1) + ".long(), " + operand(0) + ")";
  if (auto c = dyn_cast<ConstantOp>(op)) {
    auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
    if (!dense) return (op->emitError() << "heed export: a constant that is not dense"), failure();
    if (!dense.isSplat()) requireSameShapes(op, /*results=*/true);
    std::string e = constantExpr(dense);
    if (dense.isSplat() && dense.getType().getRank() > 0) {
      std::string fixed = tuple(dense.getType().getShape()), dyn = shapeTuple(op);
      if (fixed != dyn) e.replace(e.find(fixed), fixed.size(), dyn);
    }
    return e;
  }
  if (isa<SinusoidalOp, PositionalEncodingOp>(op)) requireSameShapes(op, /*results=*/true);
  if (isa<EmbeddingOp, LinearOp, FeedForwardOp, AttentionOp, LayerNormOp>(op)) requireSameShapes(op, false);
  if (auto s = dyn_cast<SinusoidalOp>(op)) {
    auto sh = shapeOfValue(s.getResult());
    return "_sinusoidal(" + std::to_string(sh[0]) + ", " + std::to_string(sh[1]) + ")";
  }
  if (auto d = dyn_cast<DropoutOp>(op))
    return "F.dropout(" + operand(0) + ", p=" + num(d.getP().convertToDouble()) + ", training=self.training)";
  if (auto ce = dyn_cast<CrossEntropyOp>(op))
    return "_cross_entropy(" + operand(0) + ", " + operand(1) + ", " + num(ce.getSmoothing().convertToDouble()) + ", " +
           std::to_string((int64_t)ce.getIgnoreIndex()) + ")";
  if (auto ln = dyn_cast<LayerNormOp>(op)) {
    int64_t d = shapeOfValue(ln.getGamma())[0];
    auto path = layer(op, "nn.LayerNorm(" + std::to_string(d) + ", eps=" + num(ln.getEps().convertToDouble()) + ")",
                      {{ln.getGamma(), "weight", false}, {ln.getBeta(), "bias", false}});
    if (failed(path)) return failure();
    return module(*path) + "(" + operand(0) + ")";
  }
  if (auto e = dyn_cast<EmbeddingOp>(op)) {
    auto sh = shapeOfValue(e.getTable());
    auto path = layer(op, "nn.Embedding(" + std::to_string(sh[0]) + ", " + std::to_string(sh[1]) + ")",
                      {{e.getTable(), "weight", false}});
    if (failed(path)) return failure();
    return module(*path) + "(" + v(e.getIds()) + ".long())";
  }
  if (auto p = dyn_cast<PositionalEncodingOp>(op)) {
    auto sh = shapeOfValue(p.getResult());
    if (!p.getTable()) return "_sinusoidal(" + std::to_string(sh[0]) + ", " + std::to_string(sh[1]) + ")";
    auto path = layer(op, "Table(" + std::to_string(sh[0]) + ", " + std::to_string(sh[1]) + ")",
                      {{p.getTable(), "weight", false}});
    if (failed(path)) return failure();
    return module(*path) + "()";
  }
  if (auto l = dyn_cast<LinearOp>(op)) {
    auto sh = shapeOfValue(l.getW());
    std::string ctor = "nn.Linear(" + std::to_string(sh[0]) + ", " + std::to_string(sh[1]) +
                       (l.getB() ? ")" : ", bias=False)");
    SmallVector<std::tuple<Value, const char *, bool>> roles{{l.getW(), "weight", true}};
    if (l.getB()) roles.push_back({l.getB(), "bias", false});
    auto path = layer(op, ctor, roles);
    if (failed(path)) return failure();
    return module(*path) + "(" + v(l.getX()) + ")";
  }
  if (auto f = dyn_cast<FeedForwardOp>(op)) {
    auto w1 = shapeOfValue(f.getW1()), w2 = shapeOfValue(f.getW2());
    std::string act = f.getAct().str();
    if (act != "relu" && act != "gelu")
      return (op->emitError() << "heed export: feed_forward activation '" << act << "' has no PyTorch form"), failure();
    auto path = layer(op,
                      "FeedForward(" + std::to_string(w1[0]) + ", " + std::to_string(w1[1]) + ", " +
                          std::to_string(w2[1]) + ", " + pyString(act) + ")",
                      {{f.getW1(), "linear1.weight", true},
                       {f.getB1(), "linear1.bias", false},
                       {f.getW2(), "linear2.weight", true},
                       {f.getB2(), "linear2.bias", false}});
    if (failed(path)) return failure();
    return module(*path) + "(" + v(f.getX()) + ")";
  }
  if (auto a = dyn_cast<AttentionOp>(op)) {
    int64_t d = shapeOfValue(a.getWQ())[0];
    auto path = layer(op,
                      "Attention(" + std::to_string(d) + ", " + std::to_string(a.getHeads()) + ", " +
                          (a.getCausal() ? "True" : "False") + ")",
                      {{a.getWQ(), "q_proj.weight", true}, {a.getBQ(), "q_proj.bias", false},
                       {a.getWK(), "k_proj.weight", true}, {a.getBK(), "k_proj.bias", false},
                       {a.getWV(), "v_proj.weight", true}, {a.getBV(), "v_proj.bias", false},
                       {a.getWO(), "o_proj.weight", true}, {a.getBO(), "o_proj.bias", false}});
    if (failed(path)) return failure();
    std::string args = v(a.getQIn()) + ", " + v(a.getKvIn());
    if (a.getKeyPadding()) args += ", " + v(a.getKeyPadding());
    return module(*path) + "(" + args + ")";
  }
  return (op->emitError() << "heed export: PyTorch has no form for '" << op->getName()
                          << "' here (the exporter maps the ops of the model language; see docs/EXPORT.md)"),
         failure();
}

LogicalResult Generator::run(PyTorchModel &out) {
  ModelSignature sig = signatureOf(fn->getParentOfType<ModuleOp>());
  auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  batch = sig.batch;
  if (twinFn) {
    twinBatch = signatureOf(twinFn->getParentOfType<ModuleOp>()).batch;
    Block &a = fn.getBody().front(), &b = twinFn.getBody().front();
    bool same = twinBatch != batch && a.getOperations().size() == b.getOperations().size() &&
                fn.getNumArguments() == twinFn.getNumArguments();
    for (auto ia = a.begin(), ib = b.begin(); same && ia != a.end(); ++ia, ++ib) {
      same = ia->getName().getStringRef() == ib->getName().getStringRef() && ia->getNumResults() == ib->getNumResults() &&
             ia->getNumOperands() == ib->getNumOperands();
      twin[&*ia] = &*ib;
    }
    batchFixed = !same;
    if (!same) twin.clear();
  }

  // Inputs: their own names where Python allows, else in<i>.
  std::set<std::string> taken = {"self", "inputs", "out", "torch", "nn", "F", "math", "json", "os", "struct"};
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    std::string n = sig.inputs[i].name;
    bool ok = !n.empty() && !kPythonKeywords.count(n) && !taken.count(n) && n[0] != 'v' && n[0] != '_';
    for (char c : n) ok &= std::isalnum((unsigned char)c) || c == '_';
    names[fn.getArgument(i)] = ok ? n : "in" + std::to_string(i);
    taken.insert(names[fn.getArgument(i)]);
  }

  // The ops the outputs need; the rest (the loss and what only it needs) run only
  // when the loss's inputs (the targets) are given.
  int lossResult = -1;
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    if (fn.getResultAttr(i, "heed.loss")) lossResult = (int)i;
  std::set<Operation *> forOutputs;
  std::set<unsigned> outputArgs;
  SmallVector<Value> work;
  for (unsigned i = 0; i < ret.getNumOperands(); ++i)
    if ((int)i != lossResult) work.push_back(ret.getOperand(i));
  while (!work.empty()) {
    Value x = work.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(x)) {
      outputArgs.insert(arg.getArgNumber());
      continue;
    }
    Operation *d = x.getDefiningOp();
    if (forOutputs.insert(d).second)
      for (Value o : d->getOperands()) work.push_back(o);
  }

  std::vector<std::string> main, lossOnly;
  int counter = 0;
  for (Operation &op : fn.getBody().front()) {
    if (isa<func::ReturnOp, ParamOp>(&op)) continue;
    FailureOr<std::string> e = expr(&op);
    if (failed(e)) return failure();
    std::string var = "v" + std::to_string(counter++);
    names[op.getResult(0)] = var;
    (forOutputs.count(&op) ? main : lossOnly).push_back(var + " = " + *e + locationComment(op.getLoc()));
  }

  std::ostringstream py;
  std::string modelName = sig.model.empty() ? "model" : sig.model;
  py << "# model.py: " << modelName << " as a PyTorch nn.Module, generated by `heed export --to pytorch`\n"
     << "# from the model's heed graph (one PyTorch call per heed layer or primitive; the\n"
     << "# comments name the model line). Parameters: model.safetensors, PyTorch names and\n"
     << "# layouts (names.json maps heed's names to them). Needs torch alone.\n"
     << "#\n"
     << "#   import model; m = model.load(directory)   # eval mode\n"
     << "#   out = m(**inputs)  # dict: every output by name, plus 'loss' when the loss's inputs are given\n"
     << "#\n"
     << (batchFixed ? "# Shapes are those of the export (batch " + std::to_string(sig.batch) +
                          "): some sizes do not follow the batch; re-export with --batch N for another.\n"
                    : std::string("# Any batch: sizes that follow the batch are written in terms of it.\n"));
  py << kPyTorchPrelude << "\n\n";
  py << "MODEL = " << pyString(modelName) << "\n";
  py << "INPUTS = {\n";
  for (const rt::TensorSpec &s : sig.inputs) {
    const char *dt = s.dtype == rt::DType::F32 ? "float32" : s.dtype == rt::DType::I32 ? "int32" : "bool";
    std::string dims = "[";
    for (size_t i = 0; i < s.dims.size(); ++i) dims += (i ? ", " : "") + pyString(s.dims[i]);
    py << "    " << pyString(s.name) << ": {\"shape\": " << list(s.shape) << ", \"dtype\": \"" << dt
       << "\", \"dims\": " << dims << "]},\n";
  }
  py << "}\n# the export's batch; BATCH_FIXED: model.py runs only at it\nBATCH = " << sig.batch
     << "\nBATCH_FIXED = " << (batchFixed ? "True" : "False") << "\nOUTPUTS = [";
  for (size_t i = 0; i < sig.outputs.size(); ++i) py << (i ? ", " : "") << pyString(sig.outputs[i].name);
  py << "]\nLOSS = " << (sig.loss.empty() ? "None" : pyString(sig.loss)) << "\n";
  std::vector<std::string> lossInputs;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (!outputArgs.count(i)) lossInputs.push_back(sig.inputs[i].name);
  py << "# inputs only the loss needs (forward computes the loss when all are given)\nLOSS_INPUTS = [";
  for (size_t i = 0; i < lossInputs.size(); ++i) py << (i ? ", " : "") << pyString(lossInputs[i]);
  py << "]\nFROZEN = [";
  bool firstFrozen = true;
  for (const ExportedParam &p : params)
    if (p.frozen) py << (firstFrozen ? "" : ", ") << pyString(p.torch), firstFrozen = false;
  py << "]\n\n\n";

  py << "class Model(nn.Module):\n"
     << "    def __init__(self):\n"
     << "        super().__init__()\n";
  for (const std::string &path : moduleOrder) py << "        _put(self, " << pyString(path) << ", " << modules[path] << ")\n";
  py << "        for name in FROZEN:\n"
     << "            self.get_parameter(name).requires_grad_(False)\n\n"
     << "    def _m(self, path):\n"
     << "        return self.get_submodule(path)\n\n"
     << "    def forward(self, **inputs):\n"
     << "        inputs, batch = _as_inputs(inputs, INPUTS, BATCH, BATCH_FIXED)\n";
  auto bindInputs = [&](bool loss) {
    std::string ind = loss ? "            " : "        ";
    std::string s;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      if ((outputArgs.count(i) != 0) != loss) {
        s += ind + names[fn.getArgument(i)] + " = inputs[" + pyString(sig.inputs[i].name) + "]\n";
      }
    return s;
  };
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (outputArgs.count(i))
      py << "        if " << pyString(sig.inputs[i].name) << " not in inputs:\n"
         << "            raise TypeError(\"forward() needs input " << sig.inputs[i].name << "\")\n";
  py << bindInputs(false);
  for (const std::string &line : main) py << "        " << line << "\n";
  py << "        out = {}\n";
  unsigned k = 0;
  for (unsigned i = 0; i < ret.getNumOperands(); ++i)
    if ((int)i != lossResult) py << "        out[" << pyString(sig.outputs[k++].name) << "] = " << v(ret.getOperand(i)) << "\n";
  if (lossResult >= 0) {
    py << "        if all(n in inputs for n in LOSS_INPUTS):\n";
    py << bindInputs(true);
    for (const std::string &line : lossOnly) py << "            " << line << "\n";
    py << "            out[\"loss\"] = " << v(ret.getOperand(lossResult)) << "\n";
  }
  py << "        return out\n\n\n"
     << "def load(directory=os.path.dirname(os.path.abspath(__file__))):\n"
     << "    \"\"\"The model with the exported parameters, in eval mode (dropout off); model.tokenizer\n"
     << "    is the run's tokenizer (a Tokenizer) when the export holds one, else None.\"\"\"\n"
     << "    model = Model()\n"
     << "    model.load_state_dict(read_safetensors(os.path.join(directory, \"model.safetensors\")), strict=True)\n"
     << "    has_tokenizer = os.path.exists(os.path.join(directory, \"tokenizer.json\"))\n"
     << "    model.tokenizer = Tokenizer(directory) if has_tokenizer else None\n"
     << "    return model.eval()\n";
  out.python = py.str();
  out.params = params;
  return success();
}

rt::Tensor transposed(const rt::Tensor &w) {
  const int64_t r = w.dim(0), c = w.dim(1);
  rt::Tensor t(rt::DType::F32, {c, r});
  const float *src = w.f32();
  float *dst = t.f32();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) dst[j * r + i] = src[i * c + j];
  return t;
}

}  // namespace

FailureOr<PyTorchModel> generatePyTorch(ModuleOp imported, ModuleOp atOtherBatch) {
  auto fn = imported.lookupSymbol<func::FuncOp>("forward");
  if (!fn) return (imported.emitError("heed export: the module has no @forward")), failure();
  PyTorchModel out;
  Generator g(fn, atOtherBatch ? atOtherBatch.lookupSymbol<func::FuncOp>("forward") : func::FuncOp());
  if (failed(g.run(out))) return failure();
  return out;
}

FailureOr<PyTorchModel> generatePyTorch(ModuleOp imported) { return generatePyTorch(imported, ModuleOp()); }

void writePyTorchExport(const std::string &dir, const PyTorchModel &model, const rt::ParamStore &params,
                        const std::map<std::string, std::string> &metadata,
                        const std::vector<std::pair<std::string, std::string>> &extraFiles) {
  if (fs::exists(dir)) {
    if (!fs::is_directory(dir)) throw rt::Error("'" + dir + "' exists and is not a directory");
    bool earlier = fs::exists(fs::path(dir) / "names.json") && fs::exists(fs::path(dir) / "model.py");
    if (!earlier && !fs::is_empty(dir))
      throw rt::Error("'" + dir + "' is a non-empty directory that is not an earlier heed export; choose another -o");
  }
  std::vector<rt::Tensor> tensors;
  tensors.reserve(model.params.size());
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (const ExportedParam &p : model.params) {
    const rt::Param &param = params.get(p.heed);
    tensors.push_back(p.transpose ? transposed(param.value) : param.value);
    names.push_back({{"heed", p.heed},
                     {"pytorch", p.torch},
                     {"transposed", p.transpose},
                     {"heed_shape", param.value.shape()},
                     {"pytorch_shape", tensors.back().shape()},
                     {"frozen", p.frozen}});
  }
  std::vector<std::pair<std::string, const rt::Tensor *>> named;
  for (size_t i = 0; i < model.params.size(); ++i) named.push_back({model.params[i].torch, &tensors[i]});

  // Build next to DIR, then swap it in: a crash leaves DIR as it was.
  std::string tmp = dir + ".tmp." + std::to_string(getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    rt::saveCheckpoint(tmp + "/model.safetensors", named, metadata);
    rt::writeFileAtomic(tmp + "/model.py", model.python);
    rt::writeFileAtomic(tmp + "/names.json", names.dump(1) + "\n");
    for (const auto &[name, bytes] : extraFiles) rt::writeFileAtomic(tmp + "/" + name, bytes);
    std::string old = dir + ".old." + std::to_string(getpid());
    if (fs::exists(dir)) fs::rename(dir, old);
    fs::rename(tmp, dir);
    fs::remove_all(old, ec);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

void writeNumpyParams(const std::string &file, const rt::ParamStore &params) {
  rt::NamedTensors arrays;
  for (const rt::Param &p : params) arrays.emplace_back(p.name, p.value);
  rt::writeNpz(file, arrays);
}

}  // namespace heed
