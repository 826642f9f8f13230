//===- Commands.h - the `heed` subcommands ----------------------*- C++ -*-===//
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace heed {

/// Flags every model-reading command shares.
struct ModelArgs {
  std::string path;
  std::vector<std::string> sets;  // --set key=value
  int64_t batch = 0;              // --batch (0: from the model / default)
  bool verifyDiagnostics = false; // --verify-diagnostics (tests)
};

struct GradcheckOptions {
  uint64_t seed = 1;
  double eps = 0;        // 0: 1e-6 in float64, 1e-2 in float32
  double tolerance = 0;  // 0: 1e-4 in float64, 5e-2 in float32
  bool f32 = false;      // check in float32 instead of float64
  int64_t samples = 12;  // elements checked per parameter tensor
  /// Where the autodiff gradients come from: "reference" (the interpreter, in the
  /// check's precision) or "compiled" (the compiled train_step, float32, against
  /// float64 finite differences of the reference; tolerance 0 means 1e-3).
  std::string backend = "reference";
};

/// `heed average`: checkpoint files or run directories (the newest `last` of each).
struct AverageOptions {
  std::vector<std::string> inputs;
  int64_t last = 5;
  std::string out;
};
int runAverage(const AverageOptions &o);

/// `heed train`: flags are kept as text, keyed like the model's `train { }` block
/// (underscores: eval_every); a flag given overrides the block's value.
struct TrainOptions {
  std::string model;
  std::vector<std::string> sets;               // --set key=value
  std::map<std::string, std::string> flags;    // only the flags given
  bool resume = false;
  bool quiet = false;
};

/// Default GNMT length-penalty alpha of seq2seq beam search (see Seq2SeqCommands.cpp).
constexpr double kDefaultLengthPenalty = 0.6;

struct EvalOptions {
  std::string checkpoint;  // file or run directory
  std::string data;
  bool json = false;
  int64_t batch = 0;        // 0: the checkpoint's training batch
  int64_t maxBatches = 0;   // 0: every validation window (byte-level LMs)
  // seq2seq checkpoints:
  int64_t beam = 1;         // 1: greedy
  double lengthPenalty = kDefaultLengthPenalty;
  int64_t maxWords = 0;     // 0: every word of --data
};

struct GenerateOptions {
  std::string checkpoint;
  // byte-level LMs:
  std::string prompt;
  bool promptGiven = false;
  int64_t maxTokens = 200;
  double temperature = 0;  // 0: greedy
  int64_t topK = 0;        // 0: the whole vocabulary
  uint64_t seed = 1;
  // seq2seq models:
  std::vector<std::string> words;  // positional WORD...
  std::string input;               // --input FILE: one word per line
  int64_t beam = 1;                // 1: greedy
  double lengthPenalty = kDefaultLengthPenalty;
  int64_t batch = 0;               // 0: min(#words * beam, 64)
};

/// `heed encode`: the encoder outputs of a seq2seq checkpoint as .npy files.
struct EncodeOptions {
  std::string checkpoint;
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
int runEmit(const ModelArgs &m, const std::string &stage, const std::string &output,
            bool locations);
/// `heed compile`: writes the artifact directory `output` (Compile.cpp).
int runCompile(const ModelArgs &m, const std::string &output, bool stats);

/// `heed forward`, `heed export`, `heed plot` (Forward.cpp, Export.cpp, Plot.cpp): each adds
/// its subcommand and returns its runner: -1 when that command was not given, else its exit code.
std::function<int()> addForwardCommand(CLI::App &app);
std::function<int()> addExportCommand(CLI::App &app);
std::function<int()> addPlotCommand(CLI::App &app);
/// Runs a command body; an exception becomes "error: ..." on stderr and exit code 1.
int catchErrors(const std::function<int()> &body);

}  // namespace heed
