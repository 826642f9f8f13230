//===- CliOptions.h - heed's flag checks and usage errors ------*- C++ -*-===//
//
// The one place where heed's command line says what is wrong with a flag, so
// every command words it the same way:
//
//   * positive<T>() / number<T>(): validators for numeric flags that name the
//     flag's type and, for an out-of-range value, the type's bound ("--beam: 1e30
//     is too large (at most 9223372036854775807)"), instead of CLI11's
//     "not in range 0.000000 to 1797693...(300 digits)" and its silent
//     saturation of overflowing integers. Help shows the type alone ("INT").
//   * parse(): runs CLI11 and turns its usage errors into one "error: ..." line
//     with the command's --help as the hint; a flag given several times reads
//     "--steps is given 3 times (10, 20, 30); give it once" instead of "At Most 1
//     required but received 3".
//   * Applicability: flags that mean something only for one kind of model (a
//     language model or a sequence-to-sequence one; known once the checkpoint
//     is read) or only under another flag's value (--top-k only when sampling).
//     A flag given where it does not apply is an error, never silently ignored.
//   * installOutOfMemoryHandlers(): an allocation failure anywhere is one
//     "error: out of memory" line and exit 1.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace heed {
struct KindFlags;
}  // namespace heed

namespace heed::cli {

/// Why `text` is not a value of an integer type with bounds [lo, hi] ("" if it is).
std::string checkInteger(const std::string &text, long double lo, long double hi, bool isUnsigned);
/// Why `text` is not a finite number in [lo, hi] ("" if it is); `positive` excludes lo.
std::string checkNumber(const std::string &text, double lo, bool positive);

/// A flag of arithmetic type T that must be > 0.
template <typename T> CLI::Validator positive() {
  if constexpr (std::is_integral_v<T>)
    return CLI::Validator(
        [](std::string &s) {
          return checkInteger(s, 1, (long double)std::numeric_limits<T>::max(), std::is_unsigned_v<T>);
        },
        "", "HEED_POSITIVE_INT");
  else
    return CLI::Validator([](std::string &s) { return checkNumber(s, 0, true); }, "", "HEED_POSITIVE");
}

/// A flag of arithmetic type T: any value of T (a non-negative one for floats
/// when `nonNegative`).
template <typename T> CLI::Validator number(bool nonNegative = false) {
  if constexpr (std::is_integral_v<T>)
    return CLI::Validator(
        [](std::string &s) {
          return checkInteger(s, (long double)std::numeric_limits<T>::min(),
                              (long double)std::numeric_limits<T>::max(), std::is_unsigned_v<T>);
        },
        "", "HEED_INT");
  else
    return CLI::Validator(
        [nonNegative](std::string &s) {
          return checkNumber(s, nonNegative ? 0 : -std::numeric_limits<double>::infinity(), false);
        },
        "", "HEED_NUMBER");
}

/// Which flags of a command apply when (see the header comment).
class Applicability {
public:
  /// `opt` applies only to language models (seq2seq false) or only to
  /// sequence-to-sequence models; its help gets the prefix "language model: " or
  /// "seq2seq: ", so --help and the check say the same.
  CLI::Option *only(bool seq2seq, CLI::Option *opt);
  /// `opt` applies only when `holds()` after parsing; `condition` says when, as
  /// in "--top-k applies only to sampling (--temperature > 0)".
  CLI::Option *onlyWhen(CLI::Option *opt, std::function<bool()> holds, std::string condition);
  /// Throws CLI::ValidationError for the first given flag whose condition fails;
  /// parse() calls it through the command's final callback (see attach()).
  void checkConditions() const;
  /// Runs checkConditions() after `cmd` is parsed, so its errors read like
  /// every other usage error.
  void attach(CLI::App *cmd);
  /// The kind-specific flags that were given, for the command to check against
  /// the checkpoint (heed::rejectOtherKindFlags).
  KindFlags given() const;

private:
  struct Condition {
    CLI::Option *opt;
    std::function<bool()> holds;
    std::string condition;
  };
  std::vector<std::pair<CLI::Option *, bool>> kinds_;
  std::vector<Condition> conditions_;
};

/// Makes an allocation that fails anyway (operator new anywhere, or LLVM's
/// out-of-memory handler in the compiler) print "error: out of memory ..." and
/// exit 1, instead of a bare "std::bad_alloc" or an abort.
void installOutOfMemoryHandlers();

/// app.parse(argc, argv). On a usage error prints "error: ..." (and the help for
/// --help) and returns the exit code (0 for --help/--version, else 1); returns
/// -1 when parsing succeeded and the command should run.
int parse(CLI::App &app, int argc, char **argv);

}  // namespace heed::cli
