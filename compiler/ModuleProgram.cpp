//===- ModuleProgram.cpp --------------------------------------------------===//

#include "compiler/ModuleProgram.h"

#include "compiler/MemoryEstimate.h"
#include "compiler/ModelSettings.h"
#include "compiler/Pipeline.h"
#include "ops/RuntimeTypes.h"
#include "ops/HeedDialect.h"
#include "ops/ModulePrecision.h"
#include "runtime/Error.h"

#include "llvm/Support/MemoryBuffer.h"

#include <set>

using namespace mlir;

namespace heed {
namespace {

/// The number of rows (or classes) an id input indexes: the smallest table it
/// is gathered from or class count it is scored against, looking through reshapes.
int64_t idLimitOf(Value v) {
  int64_t limit = 0;
  auto tighten = [&](int64_t n) { limit = limit == 0 ? n : std::min(limit, n); };
  SmallVector<Value> work{v};
  while (!work.empty()) {
    Value x = work.pop_back_val();
    for (Operation *user : x.getUsers()) {
      if (auto g = dyn_cast<GatherOp>(user)) tighten(g.getTable().getType().getShape()[0]);
      else if (auto ce = dyn_cast<CrossEntropyOp>(user)) tighten(ce.getLogits().getType().getShape().back());
      else if (isa<ReshapeOp, TransposeOp, BroadcastOp>(user)) work.push_back(user->getResult(0));
    }
  }
  return limit;
}

}  // namespace

ModuleProgram::ModuleProgram() : loader(std::make_unique<ModelLoader>()) {}
ModuleProgram::~ModuleProgram() = default;

bool ModuleProgram::build(const std::string &path, const ImportOptions &options) {
    progress.begin("parse and check shapes");
    model = loader->load(path, options);
    if (!model.module) return false;
    ModuleOp mod = *model.module;
    progress.setModel(mod->getAttrOfType<StringAttr>("heed.model").str());
    progress.begin("autodiff and passes");
    // A program that trains never decodes; one rebuilt from a checkpoint may.
    if (failed(runTrainingPipeline(mod, /*withDecodeStep=*/!options.training))) return false;

    info_.sourcePath = path;
    if (auto buf = llvm::MemoryBuffer::getFile(path)) info_.source = (*buf)->getBuffer().str();
    info_.name = mod->getAttrOfType<StringAttr>("heed.model").str();
    info_.config = modelConfigOf(mod);
    info_.train = trainBlockOf(mod);
    info_.overrides = options.overrides;
    // The precision: the caller's (a flag, a checkpoint's), else the train block's.
    if (options.precision) {
      info_.precision = *options.precision;
    } else if (auto t = info_.train.find("precision"); t != info_.train.end()) {
      std::optional<rt::Precision> p = rt::parsePrecision(t->second);
      if (!p) {
        llvm::errs() << "error: the model's train setting 'precision' expects fp32 or bf16, got '" << t->second
                     << "'\n";
        return false;
      }
      info_.precision = *p;
    }
    setModulePrecision(mod, info_.precision);

    // Parameters, in model order (from whichever entry has them all: train_step or forward).
    std::set<std::string> seen;
    mod.walk([&](ParamOp p) {
      if (!seen.insert(p.getName().str()).second) return;
      auto s = p.getType().getShape();
      params_.push_back({p.getName().str(), rt::Shape(s.begin(), s.end()), p.getInit().str(),
                         p.getFrozen()});
    });
    for (func::FuncOp fn : mod.getOps<func::FuncOp>()) {
      rt::EntrySpec e;
      e.name = fn.getName().str();
      for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
        e.inputs.push_back(tensorSpecOf(fn.getArgumentTypes()[i], fn.getArgAttrDict(i)));
        e.inputs.back().idLimit = idLimitOf(fn.getArgument(i));
      }
      for (unsigned i = 0; i < fn.getNumResults(); ++i) {
        e.outputs.push_back(tensorSpecOf(fn.getResultTypes()[i], fn.getResultAttrDict(i)));
        if (fn.getResultAttr(i, "heed.loss")) e.lossIndex = (int)i;
      }
      entries_[e.name] = e;
      funcs_[e.name] = fn;
    }
    // Refuse a model that cannot fit before compiling it or allocating anything.
    if (checksMemory) {
      try {
        rt::MemoryNeed need = rt::parameterNeed(params_, options.training);
        addActivationNeed(mod, options.training, need);
        rt::checkMemory(need, rt::availableMemory(), info_, options.training ? "train" : "run");
      } catch (const rt::Error &e) {
        llvm::errs() << "error: " << e.what() << "\n";
        return false;
      }
    }
    // Entries nobody will run are not compiled (their kernels are most of a
    // seq2seq model's compile time when only decoding): their signatures stay.
    if (!options.entries.empty()) {
      std::set<std::string> keep(options.entries.begin(), options.entries.end());
      for (func::FuncOp fn : llvm::make_early_inc_range(mod.getOps<func::FuncOp>()))
        if (!keep.count(fn.getName().str())) {
          funcs_.erase(fn.getName().str());
          fn.erase();
        }
    }
    if (!prepare()) return false;
    progress.finish();
    return true;
}

const rt::EntrySpec *ModuleProgram::entry(const std::string &name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

func::FuncOp ModuleProgram::function(const std::string &entry) const {
  auto it = funcs_.find(entry);
  return it == funcs_.end() ? func::FuncOp() : it->second;
}

std::vector<rt::Tensor> ModuleProgram::run(const std::string &entry,
                                           const std::vector<rt::Tensor> &inputs,
                                           rt::RunContext &ctx) {
  func::FuncOp fn = function(entry);
  if (!fn && entries_.count(entry)) {
    std::string built;
    for (auto &[name, f] : funcs_) built += (built.empty() ? "" : ", ") + name;
    throw rt::Error("internal error: entry point '" + entry + "' of model '" + info_.name +
                    "' was not compiled into this program (it was built to run " + built + " only)");
  }
  if (!fn) throw rt::Error("the model has no entry point '" + entry + "'");
  return runFunction(fn, entry, inputs, ctx);
}

}  // namespace heed
