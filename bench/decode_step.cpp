//===- decode_step.cpp - LM greedy decoding tokens/s, cached vs recomputed -===//
//
// usage: heed_bench_decode [MODEL.heed] [--tokens N] [--rounds R] [--set k=v ...] [--only cached]
// Builds the LM (default examples/tiny_lm.heed) at batch 1 for decoding (with
// decode_step), random parameters (seed 1; speed and token equality do not
// depend on training, and bench/torch_decode.py uses random weights too), and
// times greedy generation of N tokens (default 127) after a 1-byte prompt with
// the key/value cache and with --no-cache's recomputation of the window,
// alternating R rounds (default 3; the machine may be shared). Prints the
// tokens/s of each round and the median, after checking both give the same
// tokens. Only the decoding is timed (rt::sampleTokens), not the compile.
// --only cached: the cached runs alone (for HEED_PROFILE=1 / =kernels).
//
//===----------------------------------------------------------------------===//

#include "compiler/compiled/CompiledProgram.h"
#include "runtime/text/Tokenizer.h"
#include "runtime/train/LanguageModel.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace heed;
using Clock = std::chrono::steady_clock;

int main(int argc, char **argv) {
  std::string model = std::string(HEED_SOURCE_DIR) + "/examples/tiny_lm.heed";
  int64_t tokens = 127;
  int rounds = 3;
  bool onlyCached = false;
  ImportOptions opts;
  opts.batch = 1;
  opts.training = false;  // a program that decodes: with decode_step
  int i = 1;
  if (argc > 1 && argv[1][0] != '-') model = argv[i++];
  for (; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tokens")) tokens = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--only") && !std::strcmp(argv[i + 1], "cached")) onlyCached = true;
    else if (!std::strcmp(argv[i], "--set")) {
      std::string kv = argv[i + 1];
      opts.overrides[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    } else {
      std::fprintf(stderr, "usage: %s [MODEL.heed] [--tokens N] [--rounds R] [--set k=v]\n", argv[0]);
      return 1;
    }
  }
  std::unique_ptr<rt::Program> p = buildCompiledProgram(model, opts);
  if (!p) return 1;
  if (!p->entry("decode_step")) {
    std::fprintf(stderr, "%s: no decode_step entry point (the model cannot be decoded incrementally)\n", model.c_str());
    return 1;
  }
  rt::LmLayout layout = rt::lmLayout(*p, "heed_bench_decode");
  rt::ParamStore params = rt::createParams(*p, 1, ".");
  std::unique_ptr<rt::TextTokenizer> bytes = rt::makeByteTokenizer();
  auto run = [&](bool cached, std::string &text) {
    rt::SampleOptions so;
    so.maxTokens = tokens;
    so.useCache = cached;
    text.clear();
    auto t = Clock::now();
    rt::sampleTokens(*p, layout, params, *bytes, "A", so, [&](std::string_view s) { text += s; });
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  std::string a, b;
  if (onlyCached) {
    for (int r = 0; r < rounds; ++r) std::printf("round %d: heed kv-cache %.0f tokens/s\n", r + 1, (double)tokens / run(true, a));
    return 0;
  }
  run(true, a);  // warm-up (first-touch of buffers)
  run(false, b);
  if (a != b) {
    std::fprintf(stderr, "cached and recomputed tokens differ\n");
    return 1;
  }
  std::vector<double> cached, window;
  for (int r = 0; r < rounds; ++r) {
    cached.push_back((double)tokens / run(true, a));
    window.push_back((double)tokens / run(false, b));
    std::printf("round %d: heed kv-cache %.0f tokens/s, heed no-cache %.0f tokens/s\n", r + 1, cached.back(),
                window.back());
    if (a != b) {
      std::fprintf(stderr, "cached and recomputed tokens differ\n");
      return 1;
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("heed kv-cache: %lld tokens, median %.0f tokens/s\nheed no-cache: %lld tokens, median %.0f tokens/s\n",
              (long long)tokens, median(cached), (long long)tokens, median(window));
  return 0;
}
