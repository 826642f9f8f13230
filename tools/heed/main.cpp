//===- main.cpp - the `heed` command line ---------------------------------===//
//
//   heed check   model.heed               parse + check shapes; errors with carets
//   heed params  model.heed [--json]      parameter names, shapes, counts, init
//   heed emit    model.heed --stage S     one stage of the pipeline (heed::kEmitStages,
//                                         listed by `heed emit --help`)
//   heed gradcheck model.heed             autodiff vs finite differences, per parameter
//   heed compile model.heed -o DIR        the executable artifact (kernels.so +
//                                         manifest.json) that `heed train DIR` runs
//   heed train   model.heed --data F      train an LM on text (--tokenizer), or an
//                                         encoder-decoder on source<TAB>target
//                                         lines (runtime/train/Trainer.h)
//   heed eval    CKPT --data F [--json]   validation loss and perplexity; for
//                                         seq2seq also WER/PER of the decoded words
//   heed generate CKPT --prompt TEXT      continue a prompt (greedy or sampled)
//   heed generate CKPT WORD...            transcribe words (seq2seq; greedy or --beam K)
//   heed encode  CKPT WORD... -o enc.npy  encoder outputs (seq2seq)
//   heed average RUN... -o OUT            mean parameters of checkpoints (not resumable)
//   heed forward MODEL|CKPT --inputs in.npz -o out.npz   outputs, loss, gradients
//   heed export  MODEL|CKPT --to pytorch -o DIR          model.py + safetensors
//   heed plot    RUN... -o curves.svg                    training curves (gnuplot)
//
// `heed --help` and `heed CMD --help` are the reference; tests/lit/cli/docs.test
// checks README.md and docs/*.md against them. Exit codes: 0 success, 1 any user error (bad model, bad flags, bad files).
//
//===----------------------------------------------------------------------===//

#include "tools/heed/CliOptions.h"
#include "tools/heed/Commands.h"
#include "runtime/train/TrainSettings.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <utility>

namespace {

namespace cli = heed::cli;

void addModelArgs(CLI::App *cmd, heed::ModelArgs &m) {
  cmd->add_option("model", m.path, "model file (.heed)")->required();
  cmd->add_option("--set", m.sets, "override a config value: --set d_model=256 (repeatable)");
  cmd->add_option("--batch", m.batch, "bind the batch dimension")->check(cli::positive<int64_t>());
  cmd->add_flag("--verify-diagnostics", m.verifyDiagnostics,
                "check errors against '# expected-error {{...}}' comments in the model file")
      ->group("");  // for heed's own tests
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"heed: a compiler and runtime for transformer models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "heed 0.1.0");

  heed::ModelArgs m;
  auto *check = app.add_subcommand("check", "parse the model and check every type and shape");
  addModelArgs(check, m);
  bool checkJson = false;
  check->add_flag("--json", checkJson, "print one JSON object, with the inputs and outputs (names, shapes, dtypes)");

  bool json = false;
  auto *params = app.add_subcommand("params", "list parameters: name, shape, count, init");
  addModelArgs(params, m);
  params->add_flag("--json", json, "print one JSON object");

  std::string stage, output;
  bool locations = false;
  auto *emit = app.add_subcommand("emit", "print a stage of the pipeline");
  addModelArgs(emit, m);
  emit->add_option("--stage", stage, heed::emitStageList(" | "))->required();
  emit->add_option("-o,--output", output, "write to this file instead of stdout");
  emit->add_flag("--locations", locations, "graph, decomposed, grad: print each op's model-file location");

  std::string compileOut;
  bool compileStats = false;
  auto *compile = app.add_subcommand(
      "compile", "compile the model to an artifact directory (kernels.so + manifest.json) that "
                 "`heed train DIR` runs without the compiler");
  addModelArgs(compile, m);
  compile->add_option("-o,--output", compileOut, "the artifact directory to write")->required();
  compile->add_flag("--stats", compileStats,
                    "print the precision, kernel count, library calls, planned peak bytes, matmul FLOPs per "
                    "train step and the compile time");
  std::string compilePrecision;
  compile->add_option("--precision", compilePrecision,
                      "matmul precision compiled in: fp32 or bf16 (default: the model's train block, else fp32; "
                      "docs/PRECISION.md)")
      ->check(CLI::IsMember({"fp32", "bf16"}));

  heed::GradcheckOptions gc;
  auto *gradcheck = app.add_subcommand(
      "gradcheck", "compare autodiff gradients with finite differences, per parameter");
  addModelArgs(gradcheck, m);
  gradcheck->add_option("--seed", gc.seed, "initialisation and input seed")->check(cli::number<uint64_t>());
  gradcheck->add_option("--eps", gc.eps, "finite-difference step")->check(cli::positive<double>());
  gradcheck->add_option("--tolerance", gc.tolerance, "largest relative error accepted")
      ->check(cli::positive<double>());
  gradcheck->add_option("--samples", gc.samples, "elements checked per parameter")
      ->check(cli::positive<int64_t>());
  gradcheck->add_flag("--f32", gc.f32, "check in float32 (default: float64)");
  gradcheck->add_option("--backend", gc.backend,
                        "autodiff gradients from: reference (default) or compiled (float32 "
                        "gradients of the compiled train_step against float64 finite differences)")
      ->check(CLI::IsMember({"reference", "compiled"}));

  // heed train: every value flag is kept as text (see TrainOptions); defaults
  // come from the model's `train { }` block, then from the settings table.
  heed::TrainOptions tr;
  auto *train = app.add_subcommand(
      "train", "train a model: a language model on a text file (tokens from --tokenizer) or token ids, or an encoder-decoder "
               "(inputs src, tgt_in, tgt_out) on source<TAB>target lines");
  train->add_option("model", tr.model, "model file (.heed), or an artifact directory from heed compile")->required();
  train->add_option("--set", tr.sets, "override a config value: --set d_model=256 (repeatable)");
  // One flag per setting of runtime/train/TrainSettings.h (--eval-every for eval_every).
  std::map<std::string, CLI::Option *> trainOpts;
  for (const heed::rt::TrainSetting &t : heed::rt::kTrainSettings) {
    std::string help = t.help;
    if (*t.def) help += std::string(" (default ") + t.def + ")";
    trainOpts[t.key] = train->add_option(heed::rt::trainFlagName(t.key), tr.flags[t.key], help)->type_name(t.type);
  }
  train->add_flag("--resume", tr.resume, "continue the run in --out from its latest checkpoint");
  train->add_flag("-q,--quiet", tr.quiet, "no header and progress; only the summary");

  // Flags of one model kind (the checkpoint tells which) or of one mode: given where
  // they do not apply, they are errors (cli::Applicability).
  heed::EvalOptions ev;
  cli::Applicability evApplies;
  auto *evalCmd = app.add_subcommand(
      "eval", "validation loss and perplexity of a checkpoint (LMs: per token, per word and per byte, every token scored once); for seq2seq models also WER and PER");
  evalCmd->add_option("checkpoint", ev.checkpoint, "checkpoint file or run directory")->required();
  evalCmd->add_option("--data", ev.data, "text file or .npy/.bin ids (LM) or source<TAB>target file (seq2seq) to evaluate on")
      ->required();
  evalCmd->add_flag("--json", ev.json,
                    "print one JSON object: {loss, perplexity, tokens}; seq2seq: {wer, per, loss, count, beam, ...}");
  evApplies.only(true, evalCmd->add_option("--beam", ev.beam, "beam width, 1 = greedy (default)")
                           ->check(cli::positive<int64_t>()));
  evApplies.onlyWhen(
      evApplies.only(true, evalCmd->add_option("--length-penalty", ev.lengthPenalty,
                                               "beam search: GNMT length penalty alpha (default 0.6)")
                               ->check(cli::number<double>(/*nonNegative=*/true))),
      [&] { return ev.beam > 1; }, "to beam search (--beam K > 1)");
  evApplies.only(true, evalCmd->add_option("--max-words", ev.maxWords, "only the first N pairs (default: all)")
                           ->check(cli::positive<int64_t>()));
  evalCmd->add_option("--batch", ev.batch, "sequences per batch (default: the training batch)")
      ->check(cli::positive<int64_t>());
  evApplies.only(false, evalCmd->add_option("--max-batches", ev.maxBatches, "evaluate at most N batches (default: all)")
                            ->check(cli::positive<int64_t>()));
  evApplies.only(true, evalCmd->add_flag("--no-cache", ev.noCache,
                                         "decode by recomputing the decoder window per step instead of the "
                                         "key/value cache (decode_step); HEED_KV_CACHE=0 does the same"));
  evApplies.attach(evalCmd);

  heed::GenerateOptions gen;
  cli::Applicability genApplies;
  auto *generate = app.add_subcommand(
      "generate", "continue a prompt with a language model, or transcribe words with a seq2seq model "
                  "(prints WORD<TAB>output per word; a blank input line gives an empty row)");
  generate->add_option("checkpoint", gen.checkpoint, "checkpoint file or run directory")->required();
  generate->add_option("words", gen.words, "seq2seq: words to transcribe");
  generate->add_option("--input", gen.input, "seq2seq: file with one word per line")->type_name("FILE");
  genApplies.only(true, generate->add_option("--beam", gen.beam, "beam width, 1 = greedy (default)")
                            ->check(cli::positive<int64_t>()));
  genApplies.onlyWhen(
      genApplies.only(true, generate->add_option("--length-penalty", gen.lengthPenalty,
                                                 "beam search: GNMT length penalty alpha, ((5+len)/6)^alpha (default 0.6)")
                                ->check(cli::number<double>(/*nonNegative=*/true))),
      [&] { return gen.beam > 1; }, "to beam search (--beam K > 1)");
  genApplies.only(true, generate->add_option("--batch", gen.batch, "rows per decoder run (default min(words x beam, 64))")
                            ->check(cli::positive<int64_t>()));
  auto *promptOpt = generate->add_option("--prompt", gen.prompt, "language model: text to continue");
  genApplies.only(false, generate->add_option("--max-tokens", gen.maxTokens, "tokens to generate (default 200, at most 10000000)")
                             ->check(cli::number<int64_t>()));
  genApplies.only(false, generate->add_option("--stop", gen.stop, "stop once the output ends with STRING (printed)")
                             ->type_name("STRING"));
  generate->add_flag("--no-cache", gen.noCache,
                     "recompute the whole window (LM) or decoder (seq2seq) for every token instead of the "
                     "key/value cache (decode_step); HEED_KV_CACHE=0 does the same");
  // Non-negative in the parser, so that --temperature -1 --seed 1 names the temperature,
  // not "--seed applies only to sampling".
  genApplies.only(false, generate->add_option("--temperature", gen.temperature, "0 = greedy (default); > 0 samples")
                             ->check(cli::number<double>(/*nonNegative=*/true)));
  auto sampling = [&] { return gen.temperature > 0; };
  genApplies.onlyWhen(
      genApplies.only(false, generate->add_option("--top-k", gen.topK, "sample among the K likeliest tokens (default: all)")
                                 ->check(cli::number<int64_t>())),
      sampling, "to sampling (--temperature T > 0)");
  genApplies.onlyWhen(
      genApplies.only(false, generate->add_option("--seed", gen.seed, "sampling seed (default 1)")
                                 ->check(cli::number<uint64_t>())),
      sampling, "to sampling (--temperature T > 0)");
  genApplies.attach(generate);

  heed::EncodeOptions enc;
  auto *encode = app.add_subcommand(
      "encode", "write a seq2seq model's encoder outputs for words as .npy files: OUT (f32 [n, src_len, d_model]), "
                "OUT.lengths.npy (int32 [n], symbols per word) and OUT.mask.npy (bool [n, src_len], true at "
                "padded positions), where OUT.npy is -o without its .npy");
  encode->add_option("checkpoint", enc.checkpoint, "checkpoint file or run directory")->required();
  encode->add_option("words", enc.words, "words to encode");
  encode->add_option("--input", enc.input, "file with one word per line (a blank line: a row of zeros, length 0)")
      ->type_name("FILE");
  encode->add_option("-o,--output", enc.output, "the .npy file of the encoder outputs")->required();
  encode->add_option("--batch", enc.batch, "rows per encoder run (default min(words, 64))")
      ->check(cli::positive<int64_t>());

  heed::rt::AverageRequest avg;
  auto *average = app.add_subcommand(
      "average", "average the parameters of several checkpoints of one run into one checkpoint");
  average->add_option("inputs", avg.inputs, "checkpoint files, or run directories (their newest --last)")
      ->required();
  cli::Applicability avgApplies;
  avgApplies.onlyWhen(average->add_option("--last", avg.last, "checkpoints per run directory (default 5)")
                          ->check(cli::positive<int64_t>()),
                      [&] {
                        return std::any_of(avg.inputs.begin(), avg.inputs.end(),
                                           [](const std::string &p) { return std::filesystem::is_directory(p); });
                      },
                      "to run directories among the inputs (checkpoint files are averaged as given)");
  avgApplies.attach(average);
  average->add_option("-o,--output", avg.out, "OUT.safetensors, or a run directory to write it into")
      ->required();

  // Model files run on the compiled backend unless --backend reference asks for the
  // interpreter (the oracle, and float64 gradient checks).
  for (auto [cmd, backend] : {std::pair{train, &tr.backend}, std::pair{evalCmd, &ev.backend},
                               std::pair{generate, &gen.backend}, std::pair{encode, &enc.backend}})
    cmd->add_option("--backend", *backend,
                    "compiled (default: MLIR-generated kernels + oneDNN) or reference (the interpreter)")
        ->check(CLI::IsMember({"compiled", "reference"}));

  // Checkpoints run at the precision they were trained at unless told otherwise.
  for (auto [cmd, precision] : {std::pair{evalCmd, &ev.precision}, std::pair{generate, &gen.precision},
                                 std::pair{encode, &enc.precision}})
    cmd->add_option("--precision", *precision,
                    "matmul precision: fp32 or bf16 (default: the checkpoint's; docs/PRECISION.md)")
        ->check(CLI::IsMember({"fp32", "bf16"}));

  std::function<int()> more[] = {heed::addForwardCommand(app), heed::addExportCommand(app),
                                 heed::addPlotCommand(app)};
  // Usage errors: one "error: ..." line and exit 1 (tools/heed/CliOptions.h).
  if (int code = cli::parse(app, argc, argv); code >= 0) return code;
  cli::installOutOfMemoryHandlers();

  for (auto &run : more)
    if (int rc = run(); rc >= 0) return rc;
  if (*check) return heed::runCheck(m, checkJson);
  if (*params) return heed::runParams(m, json);
  if (*emit) return heed::runEmit(m, stage, output, locations);
  if (*gradcheck) return heed::runGradcheck(m, gc);
  if (*compile) return heed::runCompile(m, compileOut, compileStats, compilePrecision);
  if (*train) {
    for (auto &[key, opt] : trainOpts)
      if (opt->count() == 0) tr.flags.erase(key);  // keep only the flags given
    return heed::runTrain(tr);
  }
  if (*evalCmd) {
    ev.given = evApplies.given();
    return heed::runEval(ev);
  }
  if (*generate) {
    gen.promptGiven = promptOpt->count() > 0;
    gen.given = genApplies.given();
    return heed::runGenerate(gen);
  }
  if (*encode) return heed::runEncode(enc);
  if (*average) return heed::reportErrors([&] { return heed::runAverage(avg); });
  return 1;
}
