//===- PyTorchExport.h - a heed model as a PyTorch nn.Module ----*- C++ -*-===//
//
// `heed export --to pytorch` generates model.py from the imported heed graph
// (the @forward of `heed emit --stage graph`: layer ops not yet decomposed),
// one PyTorch call per heed layer or primitive:
//
//   heed op                    PyTorch                       parameters (heed -> PyTorch)
//   linear       at P          nn.Linear                     P.w [in, out] -> P.weight [out, in], P.b -> P.bias
//   feed_forward at P          FeedForward (two nn.Linear)   P.w1/b1 -> P.linear1.weight/bias, w2/b2 -> linear2
//   attention    at P          Attention (four nn.Linear)    P.w_q/b_q -> P.q_proj.weight/bias, k_, v_, o_ alike
//   layer_norm   at P          nn.LayerNorm                  P.gamma -> P.weight, P.beta -> P.bias
//   embedding    at P          nn.Embedding                  P.weight -> P.weight
//   positional_encoding (learned) Table                      P.weight -> P.weight
//   primitives (+, @, softmax, where, reshape, ...)  the torch function of the same meaning
//
// where P is the layer's parameter path (`heed params`) minus the last part;
// every .weight of an nn.Linear is transposed. The module tree mirrors the
// paths ("decoder_layer.0.attention" is a submodule), so state_dict() names
// are exactly the PyTorch names above (docs/EXPORT.md).
//
// What PyTorch cannot express (an op without a PyTorch form, a parameter path
// that collides with an nn.Module attribute or with another layer's path)
// is a located error.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ParamStore.h"

#include "mlir/Support/LogicalResult.h"

#include <map>
#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
}  // namespace mlir

namespace heed {

struct ExportedParam {
  std::string heed, torch;  // names
  bool transpose = false;   // a 2-D weight stored [in, out] by heed, [out, in] by PyTorch
  bool frozen = false;
};

struct PyTorchModel {
  std::string python;  // model.py
  std::vector<ExportedParam> params;  // in heed's parameter order
};

/// Generates model.py and the name mapping from the imported module's @forward;
/// failure after emitting a located error. `atOtherBatch` (may be null) is the same
/// model imported at another batch: sizes that differ between the two (a reshape to
/// [batch * 48]) are written as linear functions of the batch, so model.py runs at
/// any batch; without it, or when a size does not follow the batch linearly,
/// model.py keeps the export's sizes and accepts only its batch.
mlir::FailureOr<PyTorchModel> generatePyTorch(mlir::ModuleOp imported, mlir::ModuleOp atOtherBatch);
mlir::FailureOr<PyTorchModel> generatePyTorch(mlir::ModuleOp imported);

/// Writes DIR (model.py, model.safetensors with the PyTorch names and layouts,
/// names.json with the mapping, and `extraFiles` by name: the run's tokenizer,
/// runtime/text/TokenizerExport.h) atomically: built in a temporary sibling, then
/// renamed over DIR. Refuses to replace anything but an earlier export or an
/// empty directory. Throws rt::Error.
void writePyTorchExport(const std::string &dir, const PyTorchModel &model, const rt::ParamStore &params,
                        const std::map<std::string, std::string> &metadata,
                        const std::vector<std::pair<std::string, std::string>> &extraFiles = {});

/// `--to numpy`: every parameter under its heed name and layout, as an .npz.
void writeNumpyParams(const std::string &file, const rt::ParamStore &params);

}  // namespace heed
