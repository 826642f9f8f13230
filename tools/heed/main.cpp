//===- main.cpp - the `heed` command line ---------------------------------===//
//
//   heed check   model.heed               parse + check shapes; errors with carets
//   heed params  model.heed [--json]      parameter names, shapes, counts, init
//   heed emit    model.heed --stage S     ast, graph, decomposed, grad, dot
//   heed train   model.heed --data F      train a byte-level LM (see Train.cpp)
//   heed eval    CKPT --data F [--json]   validation loss and perplexity
//   heed generate CKPT --prompt TEXT      continue a prompt (greedy or sampled)
//
// Exit codes: 0 success, 1 any user error (bad model, bad flags, bad files).
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <map>
#include <utility>

namespace {

void addModelArgs(CLI::App *cmd, heed::ModelArgs &m) {
  cmd->add_option("model", m.path, "model file (.heed)")->required();
  cmd->add_option("--set", m.sets, "override a config value: --set d_model=256 (repeatable)");
  cmd->add_option("--batch", m.batch, "bind the batch dimension")->check(CLI::PositiveNumber);
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

  bool json = false;
  auto *params = app.add_subcommand("params", "list parameters: name, shape, count, init");
  addModelArgs(params, m);
  params->add_flag("--json", json, "print one JSON object");

  std::string stage, output;
  bool locations = false;
  auto *emit = app.add_subcommand("emit", "print a stage of the pipeline");
  addModelArgs(emit, m);
  emit->add_option("--stage", stage, "ast | graph | decomposed | grad | dot")->required();
  emit->add_option("-o,--output", output, "write to this file instead of stdout");
  emit->add_flag("--locations", locations, "print each op's model-file location");

  heed::GradcheckOptions gc;
  auto *gradcheck = app.add_subcommand(
      "gradcheck", "compare autodiff gradients with finite differences, per parameter");
  addModelArgs(gradcheck, m);
  gradcheck->add_option("--seed", gc.seed, "initialisation and input seed");
  gradcheck->add_option("--eps", gc.eps, "finite-difference step")->check(CLI::PositiveNumber);
  gradcheck->add_option("--tolerance", gc.tolerance, "largest relative error accepted")
      ->check(CLI::PositiveNumber);
  gradcheck->add_option("--samples", gc.samples, "elements checked per parameter")
      ->check(CLI::PositiveNumber);
  gradcheck->add_flag("--f32", gc.f32, "check in float32 (default: float64)");

  // heed train: every value flag is kept as text (see TrainOptions); defaults
  // come from the model's `train { }` block, then from Train.cpp.
  heed::TrainOptions tr;
  auto *train = app.add_subcommand("train", "train a byte-level language model on a text file");
  train->add_option("model", tr.model, "model file (.heed)")->required();
  train->add_option("--set", tr.sets, "override a config value: --set d_model=256 (repeatable)");
  static const std::pair<const char *, const char *> kTrainFlags[] = {
      {"data", "training text file (bytes are the tokens)"},
      {"valid", "validation text file"},
      {"out", "run directory (default runs/<model name>)"},
      {"steps", "optimizer steps to reach (default 1000)"},
      {"batch", "sequences per step (default 16)"},
      {"lr", "peak learning rate (default: noam d_model^-0.5 * warmup^-0.5, else 1e-3)"},
      {"warmup", "warm-up steps (default min(4000, max(1, steps/10)))"},
      {"schedule", "noam | cosine | constant (default noam)"},
      {"optimizer", "adam | adamw | sgd (default adam)"},
      {"weight-decay", "weight decay (default 0.01 for adamw, else 0)"},
      {"clip", "global gradient-norm clip, 0 = off (default 1.0)"},
      {"seed", "initialisation and data-order seed (default 1)"},
      {"eval-every", "validate every N steps, 0 = only at the end (default 200)"},
      {"eval-batches", "at most N validation batches (default 50)"},
      {"checkpoint-every", "checkpoint every N steps (default: eval-every, or 500)"},
      {"max-minutes", "stop (with a checkpoint) after this much wall time"},
      {"log-every", "progress line and metrics row every N steps (default 10)"},
  };
  std::map<std::string, CLI::Option *> trainOpts;
  for (auto &[flag, help] : kTrainFlags) {
    std::string key = flag;
    for (char &c : key)
      if (c == '-') c = '_';
    const char *type = key == "data" || key == "valid" ? "FILE"
                       : key == "out"                    ? "DIR"
                       : key == "schedule" || key == "optimizer" ? "NAME"
                                                                 : "NUM";
    trainOpts[key] = train->add_option(std::string("--") + flag, tr.flags[key], help)->type_name(type);
  }
  train->add_flag("--resume", tr.resume, "continue the run in --out from its latest checkpoint");
  train->add_flag("-q,--quiet", tr.quiet, "no header and progress; only the summary");

  heed::EvalOptions ev;
  auto *evalCmd = app.add_subcommand("eval", "validation loss and perplexity of a checkpoint");
  evalCmd->add_option("checkpoint", ev.checkpoint, "checkpoint file or run directory")->required();
  evalCmd->add_option("--data", ev.data, "text file to evaluate on")->required();
  evalCmd->add_flag("--json", ev.json, "print one JSON object {loss, perplexity, tokens}");
  evalCmd->add_option("--batch", ev.batch, "sequences per batch (default: the training batch)")
      ->check(CLI::PositiveNumber);
  evalCmd->add_option("--max-batches", ev.maxBatches, "evaluate at most N batches (default: all)")
      ->check(CLI::PositiveNumber);

  heed::GenerateOptions gen;
  auto *generate = app.add_subcommand("generate", "continue a prompt with a trained byte-level model");
  generate->add_option("checkpoint", gen.checkpoint, "checkpoint file or run directory")->required();
  auto *promptOpt = generate->add_option("--prompt", gen.prompt, "text to continue")->required();
  generate->add_option("--max-tokens", gen.maxTokens, "bytes to generate (default 200)");
  generate->add_option("--temperature", gen.temperature, "0 = greedy (default); > 0 samples");
  generate->add_option("--top-k", gen.topK, "sample among the K likeliest bytes (default: all)");
  generate->add_option("--seed", gen.seed, "sampling seed (default 1)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 1;  // every usage error exits 1
  }

  if (*check) return heed::runCheck(m);
  if (*params) return heed::runParams(m, json);
  if (*emit) return heed::runEmit(m, stage, output, locations);
  if (*gradcheck) return heed::runGradcheck(m, gc);
  if (*train) {
    for (auto &[key, opt] : trainOpts)
      if (opt->count() == 0) tr.flags.erase(key);  // keep only the flags given
    return heed::runTrain(tr);
  }
  if (*evalCmd) return heed::runEval(ev);
  if (*generate) {
    gen.promptGiven = promptOpt->count() > 0;
    return heed::runGenerate(gen);
  }
  return 1;
}
