//===- Settings.h - a run's settings and where each came from ---*- C++ -*-===//
//
// A setting's text comes from, in priority order: the caller's flags (the
// command line), the resumed run's checkpoint, the model's `train { }` block,
// then the default of TrainSettings.h. Errors say where the bad value came from
// (`--warmup expects a positive integer, got 'x'`, `the model's train setting
// 'warmup' ...`, `the resumed run's warmup ...`).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace heed::rt {

class Settings {
public:
  /// `flags`: settings given explicitly, by key (underscores); `trainBlock`: the model's.
  Settings(std::map<std::string, std::string> flags, std::map<std::string, std::string> trainBlock)
      : flags(std::move(flags)), block(std::move(trainBlock)) {}

  bool has(const std::string &key) const { return raw(key) != nullptr; }
  bool fromFlag(const std::string &key) const { return flags.count(key) != 0; }
  /// A resumed run's own setting: below the flags, above the train block.
  void setResumed(const std::string &key, const std::string &value) { resumed[key] = value; }

  /// With the table's default (TrainSettings.h; it must be a plain value).
  std::string str(const std::string &key) const;
  int64_t integer(const std::string &key, int64_t min) const;
  double number(const std::string &key, double min) const;
  /// With a computed default.
  std::string str(const std::string &key, const std::string &def) const;
  int64_t integer(const std::string &key, int64_t def, int64_t min) const;
  double number(const std::string &key, double def, double min, bool strict = false) const;
  /// "--warmup", "the resumed run's warmup" or "the model's train setting 'warmup'".
  std::string where(const std::string &key) const;

private:
  const std::string *raw(const std::string &key) const;
  std::map<std::string, std::string> flags, resumed, block;
};

}  // namespace heed::rt
