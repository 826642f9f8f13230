//===- main.cpp - the `heed` command line ---------------------------------===//
//
//   heed check   model.heed               parse + check shapes; errors with carets
//   heed params  model.heed [--json]      parameter names, shapes, counts, init
//   heed emit    model.heed --stage S     ast, graph, decomposed, grad, dot
//
// Exit codes: 0 success, 1 any user error (bad model, bad flags, bad files).
//
//===----------------------------------------------------------------------===//

#include "tools/heed/Commands.h"

#include <CLI/CLI.hpp>

#include <iostream>

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 1;  // every usage error exits 1
  }

  if (*check) return heed::runCheck(m);
  if (*params) return heed::runParams(m, json);
  if (*emit) return heed::runEmit(m, stage, output, locations);
  return 1;
}
