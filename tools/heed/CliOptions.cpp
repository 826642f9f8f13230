//===- CliOptions.cpp - heed's flag checks and usage errors ---------------===//

#include "tools/heed/CliOptions.h"
#include "tools/heed/Commands.h"
#include "runtime/Error.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <new>

#include "llvm/Support/ErrorHandling.h"

namespace heed::cli {

namespace {

/// A bound as written in a message: integers without exponent or fraction.
std::string boundText(long double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0Lf", v);
  return buf;
}

/// The selected subcommand chain ("heed train"), for the --help hint.
std::string commandPath(CLI::App &app) {
  std::string path = "heed";
  CLI::App *cur = &app;
  for (;;) {
    std::vector<CLI::App *> subs = cur->get_subcommands();
    if (subs.empty()) break;
    cur = subs.front();
    path += " " + cur->get_name();
  }
  return path;
}

/// An option of one value that was given more than once, searched in the
/// selected subcommands: its message, or "".
std::string repeatedOption(CLI::App *app) {
  for (const CLI::Option *opt : app->get_options()) {
    if (opt->get_items_expected_max() != 1 || opt->count() < 2 ||
        opt->get_multi_option_policy() != CLI::MultiOptionPolicy::Throw)
      continue;
    std::string values;
    for (const std::string &r : opt->results()) values += (values.empty() ? "" : ", ") + r;
    return opt->get_name() + " is given " + std::to_string(opt->count()) + " times (" + values +
           "); give it once";
  }
  for (CLI::App *sub : app->get_subcommands())
    if (std::string m = repeatedOption(sub); !m.empty()) return m;
  return "";
}

}  // namespace

std::string checkInteger(const std::string &text, long double lo, long double hi, bool isUnsigned) {
  const bool wantPositive = lo == 1;
  const std::string want = wantPositive ? "a positive integer" : isUnsigned ? "a non-negative integer" : "an integer";
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  if (i == text.size()) return "expects " + want + ", got '" + text + "'";
  long double v = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return "expects " + want + ", got '" + text + "'";
    v = v * 10 + (text[i] - '0');
  }
  if (negative) v = -v;
  if (v > hi) return "'" + text + "' is too large (at most " + boundText(hi) + ")";
  if (v < lo) {
    if (wantPositive || isUnsigned) return "expects " + want + ", got '" + text + "'";
    return "'" + text + "' is too small (at least " + boundText(lo) + ")";
  }
  return "";
}

std::string checkNumber(const std::string &text, double lo, bool positive) {
  const std::string want = positive ? "a positive number" : std::isinf(lo) ? "a number" : "a non-negative number";
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v))
    return "expects " + want + ", got '" + text + "'";
  if (errno == ERANGE && std::fabs(v) > 1) return "'" + text + "' is too large";
  if (positive ? !(v > lo) : v < lo) return "expects " + want + ", got '" + text + "'";
  return "";
}

CLI::Option *Applicability::only(bool seq2seq, CLI::Option *opt) {
  kinds_.emplace_back(opt, seq2seq);
  opt->description((seq2seq ? "seq2seq: " : "language model: ") + opt->get_description());
  return opt;
}

CLI::Option *Applicability::onlyWhen(CLI::Option *opt, std::function<bool()> holds, std::string condition) {
  conditions_.push_back({opt, std::move(holds), std::move(condition)});
  return opt;
}

void Applicability::checkConditions() const {
  for (const Condition &c : conditions_)
    if (c.opt->count() > 0 && !c.holds())
      throw CLI::ValidationError(c.opt->get_name() + " applies only " + c.condition);
}

void Applicability::attach(CLI::App *cmd) {
  cmd->final_callback([this] { checkConditions(); });
}

KindFlags Applicability::given() const {
  KindFlags k;
  for (auto [opt, seq2seq] : kinds_)
    if (opt->count() > 0) (seq2seq ? k.seq2seqOnly : k.lmOnly).push_back(opt->get_name());
  return k;
}

namespace {
constexpr const char *kOutOfMemory =
    "error: out of memory: an allocation failed (the model, --batch or the data need more memory "
    "than this process can get)\nHINT: lower --batch or the model's sizes (--set), or free memory\n";

[[noreturn]] void outOfMemory() {
  std::fflush(stdout);
  std::fputs(kOutOfMemory, stderr);
  std::_Exit(1);
}

/// LLVM calls this instead of throwing (it is built without exceptions); it must not return.
void llvmOutOfMemory(void *, const char *, bool) { outOfMemory(); }

}  // namespace

void installOutOfMemoryHandlers() {
  // operator new calls the handler when it cannot allocate: no std::bad_alloc escapes.
  std::set_new_handler(outOfMemory);
  llvm::install_bad_alloc_error_handler(llvmOutOfMemory);
}

int parse(CLI::App &app, int argc, char **argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    std::string msg = e.what();
    if (dynamic_cast<const CLI::ArgumentMismatch *>(&e))
      if (std::string repeated = repeatedOption(&app); !repeated.empty()) msg = repeated;
    std::cerr << "error: " << msg << "\n"
              << "HINT: " << commandPath(app) << " --help lists its flags\n";
    return 1;  // every usage error exits 1
  }
}

}  // namespace heed::cli

namespace heed {

void rejectOtherKindFlags(const KindFlags &given, bool seq2seq, const std::string &checkpoint,
                          const std::string &modelName) {
  const std::vector<std::string> &wrong = seq2seq ? given.lmOnly : given.seq2seqOnly;
  if (wrong.empty()) return;
  std::string flags;
  for (size_t i = 0; i < wrong.size(); ++i)
    flags += (i == 0 ? "" : i + 1 == wrong.size() ? " and " : ", ") + wrong[i];
  throw rt::Error(flags + (wrong.size() == 1 ? " applies" : " apply") + " to " +
                  (seq2seq ? "language models" : "sequence-to-sequence models") + "; checkpoint '" + checkpoint +
                  "' holds a " + (seq2seq ? "sequence-to-sequence model" : "language model") + " (" + modelName +
                  ")");
}

std::optional<rt::Precision> precisionFlag(const std::string &text) {
  if (text.empty()) return std::nullopt;
  if (std::optional<rt::Precision> p = rt::parsePrecision(text)) return p;
  throw rt::Error("--precision expects fp32 or bf16, got '" + text + "'");
}

}  // namespace heed
