//===- Commands.h - the `heed` subcommands ----------------------*- C++ -*-===//
#pragma once

#include "compiler/session/GradCheck.h"
#include "runtime/train/CheckpointAverage.h"
#include "runtime/train/ProgramFactory.h"

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace heed {

/// The flags given that apply only to one kind of model (cli::Applicability): a
/// command that learns the kind from the checkpoint rejects the other kind's.
struct KindFlags {
  std::vector<std::string> lmOnly, seq2seqOnly;  // as spelt: "--beam"
};
/// Throws rt::Error naming the first flag of `given` that does not apply to the
/// checkpoint's kind: "--beam applies to sequence-to-sequence models; checkpoint
/// 'ckpt-2.safetensors' holds a language model (tiny_lm)".
void rejectOtherKindFlags(const KindFlags &given, bool seq2seq, const std::string &checkpoint,
                          const std::string &modelName);

/// Flags every model-reading command shares.
struct ModelArgs {
  std::string path;
  std::vector<std::string> sets;  // --set key=value
  int64_t batch = 0;              // --batch (0: from the model / default)
  bool verifyDiagnostics = false; // --verify-diagnostics (tests)
};

/// `heed average`: checkpoint files or run directories (the newest `last` of each).
int runAverage(const rt::AverageRequest &o);

/// `heed train`: flags are kept as text, keyed like the model's `train { }` block
/// (underscores: eval_every; runtime/train/TrainSettings.h); a flag given
/// overrides the block's value.
struct TrainOptions {
  std::string model;
  std::vector<std::string> sets;               // --set key=value
  std::map<std::string, std::string> flags;    // only the flags given
  bool resume = false;
  bool quiet = false;
  std::string backend = "compiled";
};

/// Default GNMT length-penalty alpha of seq2seq beam search, ((5 + len) / 6)^alpha
/// (Wu et al. 2016's value; 0 ranks by summed log-probability, favouring short outputs).
constexpr double kDefaultLengthPenalty = 0.6;

struct EvalOptions {
  std::string checkpoint;  // file or run directory
  std::string backend = "compiled";
  std::string precision;  // --precision fp32|bf16 ("": the checkpoint's)
  std::string data;
  bool json = false;
  int64_t batch = 0;        // 0: the checkpoint's training batch
  int64_t maxBatches = 0;   // 0: every validation window and the tail (LMs)
  // seq2seq checkpoints:
  int64_t beam = 1;         // 1: greedy
  double lengthPenalty = kDefaultLengthPenalty;
  int64_t maxWords = 0;     // 0: every word of --data
  KindFlags given;          // kind-specific flags given
  bool noCache = false;     // --no-cache: recompute the decoder window per step
};

struct GenerateOptions {
  std::string checkpoint;
  std::string backend = "compiled";
  std::string precision;  // --precision fp32|bf16 ("": the checkpoint's)
  // LMs (maxTokens: tokens of the checkpoint's tokenizer):
  std::string prompt;
  bool promptGiven = false;
  int64_t maxTokens = 200;
  std::string stop;        // stop once the output ends with this
  bool noCache = false;    // --no-cache: recompute the window per token
  double temperature = 0;  // 0: greedy
  int64_t topK = 0;        // 0: the whole vocabulary
  uint64_t seed = 1;
  // seq2seq models:
  std::vector<std::string> words;  // positional WORD...
  std::string input;               // --input FILE: one word per line
  int64_t beam = 1;                // 1: greedy
  double lengthPenalty = kDefaultLengthPenalty;
  int64_t batch = 0;               // 0: min(#words * beam, 64)
  KindFlags given;                 // kind-specific flags given
};

/// `heed encode`: the encoder outputs of a seq2seq checkpoint as .npy files.
struct EncodeOptions {
  std::string checkpoint;
  std::string backend = "compiled";
  std::string precision;  // --precision fp32|bf16 ("": the checkpoint's)
  std::vector<std::string> words;
  std::string input;
  std::string output;
  int64_t batch = 0;  // 0: min(#words, 64)
};

int runTrain(const TrainOptions &o);
int runEval(const EvalOptions &o);
int runGenerate(const GenerateOptions &o);
int runEncode(const EncodeOptions &o);

int runCheck(const ModelArgs &m, bool json = false);
int runGradcheck(const ModelArgs &m, const GradcheckOptions &o);
int runParams(const ModelArgs &m, bool json);
/// The stages of `heed emit --stage`, in pipeline order: the one list that the
/// command, its --help and the docs' drift test (tests/lit/cli/docs.test) read.
inline constexpr const char *kEmitStages[] = {"ast",   "graph",  "decomposed",   "grad", "dot", "fused",
                                              "linalg", "llvm-dialect", "llvm", "asm", "obj"};
/// kEmitStages joined by `sep`.
inline std::string emitStageList(const std::string &sep) {
  std::string out;
  for (const char *s : kEmitStages) out += (out.empty() ? "" : sep) + s;
  return out;
}
int runEmit(const ModelArgs &m, const std::string &stage, const std::string &output,
            bool locations);
/// `heed compile`: writes the artifact directory `output` (Compile.cpp).
int runCompile(const ModelArgs &m, const std::string &output, bool stats, const std::string &precision);

/// --precision's value as a factory override (nullopt for ""); throws on anything but fp32/bf16.
std::optional<rt::Precision> precisionFlag(const std::string &text);

/// Runs a command body: an exception becomes "error: ..." on stderr and exit
/// code 1; rt::ReportedError (already printed) becomes exit code 1.
inline int reportErrors(const std::function<int()> &body) {
  try {
    return body();
  } catch (const rt::ReportedError &) {
    return 1;
  } catch (const std::exception &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

/// `heed forward`, `heed export`, `heed plot` (Forward.cpp, Export.cpp, Plot.cpp): each adds
/// its subcommand and returns its runner: -1 when that command was not given, else its exit code.
std::function<int()> addForwardCommand(CLI::App &app);
std::function<int()> addExportCommand(CLI::App &app);
std::function<int()> addPlotCommand(CLI::App &app);

}  // namespace heed
