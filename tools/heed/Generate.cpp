//===- Generate.cpp - `heed generate`: continue a prompt ------------------===//
//
// Sequence-to-sequence checkpoints go to generateSeq2Seq (Seq2SeqCommands.cpp).
//
// Byte-level LMs: runs the model's forward pass at batch 1. The context is the prompt's bytes
// plus everything generated so far; its last `seq` bytes are placed at the
// start of the tokens input, zero-padded after (causal attention makes the
// padding invisible to earlier positions), and the next byte is read from the
// logits at the last real position. Only byte ids 0..255 are candidates.
//
//   --temperature 0 (default)   greedy: the most likely byte (lowest id on ties)
//   --temperature T > 0         sample from softmax(logits / T), restricted to
//                               the --top-k likeliest bytes when K > 0; draw i
//                               uses rt::uniform01(seed, hashString("heed.generate"), i),
//                               so a seed reproduces its text exactly.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"
#include "tools/heed/LmSession.h"
#include "tools/heed/Seq2SeqSession.h"

#include "runtime/Error.h"
#include "runtime/Random.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace heed {

int runGenerate(const GenerateOptions &o) {
  bool midLine = false;  // the prompt was printed: start errors on a new line
  return reportErrors([&] {
    RunCheckpoint rc = readRunCheckpoint(o.checkpoint);
    if (checkpointTask(rc) == "seq2seq") return generateSeq2Seq(o, rc);
    if (!o.words.empty() || !o.input.empty())
      throw rt::Error("checkpoint '" + rc.path + "' holds a byte-level language model (" + rc.modelName +
                      "): it continues a --prompt TEXT; words and --input are for sequence-to-sequence models");
    if (!o.promptGiven) throw rt::Error("--prompt TEXT is required to continue text with a byte-level language model");
    if (o.prompt.empty())
      throw rt::Error("--prompt is empty: give at least one byte of text to continue");
    if (o.maxTokens < 0) throw rt::Error("--max-tokens must be >= 0, got " + std::to_string(o.maxTokens));
    if (!(o.temperature >= 0) || !std::isfinite(o.temperature))
      throw rt::Error("--temperature must be >= 0 (0 = greedy), got " + std::to_string(o.temperature));
    if (o.topK < 0) throw rt::Error("--top-k must be >= 0 (0 = all bytes), got " + std::to_string(o.topK));
    std::unique_ptr<rt::Program> program = buildFromCheckpoint(rc, 1);
    LmLayout layout = lmLayout(*program, "heed generate");
    if (layout.logitsIndex < 0)
      throw rt::Error("model '" + program->info().name +
                      "' has no logits output [batch, seq, vocab >= 256] to sample from");
    rt::ParamStore params = emptyParams(*program);
    rt::loadTrainingState(rc.ckpt, params, /*withOptimizer=*/false);

    const int64_t S = layout.seq;
    std::vector<int32_t> context = rt::ByteDataset::encode(o.prompt);
    std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);
    midLine = true;
    std::fflush(stdout);

    rt::RunContext ctx;
    ctx.params = &params;
    ctx.training = false;
    const uint64_t stream = rt::hashString("heed.generate");
    rt::Tensor tokens(rt::DType::I32, {1, S});
    std::vector<double> p(256);
    for (int64_t i = 0; i < o.maxTokens; ++i) {
      int64_t n = std::min<int64_t>((int64_t)context.size(), S);
      int32_t *t = tokens.i32();
      std::fill(t, t + S, 0);
      std::copy(context.end() - n, context.end(), t);
      std::vector<rt::Tensor> out = program->run("forward", {tokens}, ctx);
      const rt::Tensor &logits = out.at(layout.logitsIndex);
      const float *row = logits.f32() + (n - 1) * logits.dim(2);
      int next = 0;
      if (o.temperature <= 0) {
        for (int v = 1; v < 256; ++v)
          if (row[v] > row[next]) next = v;
      } else {
        std::vector<int> order(256);
        std::iota(order.begin(), order.end(), 0);
        int k = o.topK > 0 && o.topK < 256 ? (int)o.topK : 256;
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row[a] > row[b]; });
        double mx = row[order[0]], sum = 0;
        for (int j = 0; j < k; ++j) sum += p[j] = std::exp(((double)row[order[j]] - mx) / o.temperature);
        double u = (double)rt::uniform01(o.seed, stream, (uint64_t)i) * sum;
        next = order[k - 1];
        for (int j = 0; j < k; ++j) {
          if (u < p[j]) {
            next = order[j];
            break;
          }
          u -= p[j];
        }
      }
      if (!std::isfinite(row[next])) throw rt::Error("the model's logits are not finite");
      context.push_back(next);
      std::fputc(next, stdout);
      std::fflush(stdout);
    }
    std::fputc('\n', stdout);
    return 0;
  });
}

}  // namespace heed
