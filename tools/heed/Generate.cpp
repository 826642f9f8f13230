//===- Generate.cpp - `heed generate` and `heed encode` -------------------===//
//
//   heed generate CKPT --prompt TEXT     LMs: continue the prompt by
//                                        --max-tokens tokens of the checkpoint's
//                                        tokenizer, greedy or sampled (rt::sampleTokens)
//   heed generate CKPT WORD... | --input FILE [--beam K] [--length-penalty A]
//                                        seq2seq: prints WORD<TAB>SYM SYM ... per
//                                        word, greedy or beam search; decoding
//                                        stops at EOS or after tgt_len tokens; a
//                                        blank line prints an empty row
//   heed encode CKPT WORD... | --input FILE -o enc.npy
//                                        the encoder outputs f32 [n, src_len,
//                                        d_model], the lengths i32 [n]
//                                        (enc.lengths.npy) and the padding mask
//                                        bool [n, src_len] (enc.mask.npy)
//
// The program is rebuilt from the checkpoint at --batch, else min(#words *
// beam, 64) (encode: min(#words, 64)); LMs at batch 1.
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"

#include "compiler/session/ModelProgramFactory.h"
#include "runtime/Error.h"
#include "runtime/Npy.h"
#include "runtime/seq2seq/Lines.h"
#include "runtime/train/Evaluator.h"
#include "runtime/train/LanguageModel.h"

#include <cstdio>

namespace heed {

namespace {

/// Positional words plus the lines of --input, one row each: a blank line (or an
/// empty WORD) is an empty row, printed as an empty output, so that output row i
/// is input row i. Errors if there are no rows at all.
std::vector<std::string> gatherWords(const std::vector<std::string> &words, const std::string &input) {
  std::vector<std::string> all;
  for (const std::string &w : words) all.emplace_back(rt::trimWhitespace(w));
  if (!input.empty())
    for (std::string &w : rt::readRows(input)) all.push_back(std::move(w));
  if (all.empty())
    throw rt::Error(input.empty() ? "no words given: pass WORD... or --input FILE (one word per line)"
                                  : "no words to read: input file '" + input + "' is empty");
  return all;
}

/// The words' source ids, with a warning for unknown symbols.
std::vector<std::vector<int32_t>> wordIds(const std::vector<std::string> &words, const rt::LoadedSeq2Seq &m) {
  rt::EncodedWords e = rt::encodeWords(words, m.vocabs, m.layout.srcLen);
  if (e.unknown)
    std::fprintf(stderr, "warning: %lld unknown source symbols (in %lld words) mapped to <unk>\n", (long long)e.unknown,
                 (long long)e.wordsWithUnknown);
  return std::move(e.srcs);
}

std::string siblingPath(const std::string &out, const std::string &what) {
  std::string base = out;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".npy") == 0) base.resize(base.size() - 4);
  return base + "." + what + ".npy";
}

int generateSeq2Seq(const GenerateOptions &o, const rt::RunCheckpoint &rc, rt::ProgramFactory &factory) {
  if (o.promptGiven)
    throw rt::Error("checkpoint '" + rc.path + "' holds a sequence-to-sequence model (" + rc.modelName +
                    "): give words (heed generate CKPT WORD... or --input FILE), not --prompt");
  rt::checkBeamOptions(o.beam, o.lengthPenalty);
  std::vector<std::string> words = gatherWords(o.words, o.input);
  rt::LoadedSeq2Seq m =
      rt::loadSeq2Seq(factory, rc, rt::decodeBatch(o.batch, (int64_t)words.size(), o.beam), "heed generate",
                      rt::Seq2SeqRunner::decodeEntries(!o.noCache));
  std::vector<std::string> outs = rt::transcribe(m, wordIds(words, m), o.beam, o.lengthPenalty, !o.noCache);
  for (size_t i = 0; i < words.size(); ++i) std::printf("%s\t%s\n", words[i].c_str(), outs[i].c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int runGenerate(const GenerateOptions &o) {
  return reportErrors([&] {
    ModelProgramFactory factory(o.backend, precisionFlag(o.precision));
    rt::RunCheckpoint ckpt = rt::readRunCheckpoint(o.checkpoint);
    rejectOtherKindFlags(o.given, ckpt.task() == "seq2seq", ckpt.path, ckpt.modelName);
    if (ckpt.task() == "seq2seq") return generateSeq2Seq(o, ckpt, factory);
    if (!o.words.empty() || !o.input.empty())
      throw rt::Error("checkpoint '" + ckpt.path + "' holds a language model (" + ckpt.modelName +
                      "): it continues a --prompt TEXT; words and --input are for sequence-to-sequence models");
    if (!o.promptGiven) throw rt::Error("--prompt TEXT is required to continue text with a language model");
    rt::SampleOptions so;
    so.maxTokens = o.maxTokens;
    so.temperature = o.temperature;
    so.topK = o.topK;
    so.seed = o.seed;
    so.stop = o.stop;
    so.useCache = !o.noCache;
    rt::checkSampleOptions(o.prompt, so);
    std::unique_ptr<rt::Program> program =
        rt::buildFromCheckpoint(factory, ckpt, 1, rt::lmSampleEntries(so.useCache));
    rt::LmLayout layout = rt::lmLayout(*program, "heed generate");
    rt::ParamStore params = rt::loadParams(*program, ckpt);
    std::unique_ptr<rt::TextTokenizer> tok = rt::checkpointTokenizer(ckpt);
    rt::checkTokenizerFits(layout, *tok, "model '" + ckpt.modelName + "'");
    rt::sampleTokens(*program, layout, params, *tok, o.prompt, so, [&](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    });
    std::fputc('\n', stdout);
    return 0;
  });
}

int runEncode(const EncodeOptions &o) {
  return reportErrors([&] {
    if (o.output.empty()) throw rt::Error("heed encode needs -o FILE.npy");
    ModelProgramFactory factory(o.backend, precisionFlag(o.precision));
    rt::RunCheckpoint rc = rt::readRunCheckpoint(o.checkpoint);
    rt::requireTask(rc, "seq2seq", "heed encode needs an encoder-decoder checkpoint");
    std::vector<std::string> words = gatherWords(o.words, o.input);
    rt::LoadedSeq2Seq m =
        rt::loadSeq2Seq(factory, rc, rt::decodeBatch(o.batch, (int64_t)words.size(), 1), "heed encode", {"encode"});
    rt::EncoderOutputs e = rt::encodeSources(m, wordIds(words, m));
    rt::writeNpy(siblingPath(o.output, "lengths"), e.lengths);
    rt::writeNpy(siblingPath(o.output, "mask"), e.mask);
    rt::writeNpy(o.output, e.memory);
    std::fprintf(stderr, "wrote %s (f32 [%lld, %lld, %lld]), %s and %s\n", o.output.c_str(),
                 (long long)e.memory.dim(0), (long long)m.layout.srcLen, (long long)m.layout.dModel,
                 siblingPath(o.output, "lengths").c_str(), siblingPath(o.output, "mask").c_str());
    return 0;
  });
}

}  // namespace heed
