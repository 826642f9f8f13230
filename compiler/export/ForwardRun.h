//===- ForwardRun.h - a model on the user's own arrays ----------*- C++ -*-===//
//
// What `heed forward` does between reading in.npz and writing out.npz:
//
//   * the batch: the user's arrays bind the model's `batch` dimension (an
//     [25000, 16] array for `input x : f32[batch, 16]` compiles batch 25000);
//   * checks: every array must be an input of the entry run, with its shape
//     and dtype (f64 arrays are converted to f32 and i64 to i32, numpy's
//     defaults; any other dtype, a wrong shape, an id outside the vocabulary it
//     indexes or an unknown name is an error naming the input);
//   * the default entry runs `forward` (every `output` by name), and the loss
//     (`eval`) when the model minimizes one and all its inputs are given;
//     `grads` runs `train_step` with dropout off and adds the gradient of the
//     loss for every trainable parameter as "grad/<parameter name>";
//   * `encode` / `decode` (encoder-decoders, see heed-split-stages) run that
//     entry alone.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/export/ModelSignature.h"
#include "runtime/Npz.h"
#include "runtime/Program.h"

#include <optional>
#include <string>

namespace heed {

struct ForwardRequest {
  std::string entry;   // "" (forward, plus the loss), "encode" or "decode"
  bool grads = false;  // only with the default entry
};

/// The batch the arrays bind (nullopt if no input has a `batch` dimension or
/// no array for one is given). Throws rt::Error when two arrays disagree.
std::optional<int64_t> impliedBatch(const ModelSignature &sig, const rt::NamedTensors &arrays);

/// Runs the request; throws rt::Error on any mismatch (see above). Arrays named
/// after a declared input of the model (`sig`) that the entry does not read are
/// ignored (one in.npz serves every entry); any other name is an error.
rt::NamedTensors runForward(rt::Program &program, rt::ParamStore &params, const rt::NamedTensors &arrays,
                            const ForwardRequest &request, const ModelSignature &sig);

}  // namespace heed
