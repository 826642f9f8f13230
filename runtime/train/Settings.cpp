//===- Settings.cpp - a run's settings and where each came from -----------===//

#include "runtime/train/Settings.h"

#include "runtime/Error.h"
#include "runtime/train/TrainSettings.h"

#include <cassert>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace heed::rt {

namespace {

std::string tableDefault(const std::string &key) {
  const TrainSetting *s = findTrainSetting(key);
  assert(s && "a setting missing from kTrainSettings");
  return s ? s->def : "";
}

}  // namespace

std::string Settings::str(const std::string &key) const { return str(key, tableDefault(key)); }

int64_t Settings::integer(const std::string &key, int64_t min) const {
  return integer(key, std::stoll(tableDefault(key)), min);
}

double Settings::number(const std::string &key, double min) const {
  return number(key, std::stod(tableDefault(key)), min);
}

std::string Settings::str(const std::string &key, const std::string &def) const {
  const std::string *r = raw(key);
  return r ? *r : def;
}

int64_t Settings::integer(const std::string &key, int64_t def, int64_t min) const {
  const std::string *r = raw(key);
  if (!r) return def;
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(*r, &used);
  } catch (const std::out_of_range &) {
    // A whole number past int64 is too large (or small), not "not an integer".
    if (r->front() != '-' && r->find_first_not_of("+0123456789") == std::string::npos)
      throw Error(where(key) + ": '" + *r + "' is too large (at most " +
                  std::to_string(std::numeric_limits<int64_t>::max()) + ")");
    used = 0;
  } catch (const std::exception &) {
    used = 0;
  }
  if (used == 0 || used != r->size() || v < min)
    throw Error(where(key) + " expects " + (min > 0 ? "a positive" : "a non-negative") + " integer, got '" + *r +
                "'");
  return v;
}

double Settings::number(const std::string &key, double def, double min, bool strict) const {
  const std::string *r = raw(key);
  if (!r) return def;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(*r, &used);
  } catch (const std::out_of_range &) {
    throw Error(where(key) + ": '" + *r + "' is out of the range of a double");
  } catch (const std::exception &) {
    used = 0;
  }
  if (used == 0 || used != r->size() || !std::isfinite(v) || v < min || (strict && v <= min))
    throw Error(where(key) + " expects a " + (strict ? "positive" : "non-negative") + " number, got '" + *r + "'");
  return v;
}

std::string Settings::where(const std::string &key) const {
  if (fromFlag(key)) return trainFlagName(key);
  if (resumed.count(key)) return "the resumed run's " + key;
  return "the model's train setting '" + key + "'";
}

const std::string *Settings::raw(const std::string &key) const {
  for (const std::map<std::string, std::string> *m : {&flags, &resumed, &block}) {
    auto it = m->find(key);
    if (it != m->end()) return &it->second;
  }
  return nullptr;
}

}  // namespace heed::rt
