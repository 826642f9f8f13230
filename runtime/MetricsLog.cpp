//===- MetricsLog.cpp -----------------------------------------------------===//

#include "runtime/MetricsLog.h"

#include "runtime/AtomicFile.h"
#include "runtime/Error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace heed::rt {

MetricsLog readMetricsLog(const std::string &runOrFile) {
  MetricsLog log;
  log.path = std::filesystem::is_directory(runOrFile)
                 ? (std::filesystem::path(runOrFile) / "metrics.jsonl").string()
                 : runOrFile;
  if (!std::filesystem::exists(log.path))
    throw Error(fmt::format("'{}' has no metrics.jsonl (expected a run directory written by heed train, or the "
                            "file)", runOrFile));
  std::string text = readWholeFile(log.path, "metrics file");
  if (text.empty()) throw Error(fmt::format("{}: the metrics file is empty (no step was logged)", log.path));
  size_t at = 0;
  for (int64_t line = 1; at < text.size(); ++line) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos)
      throw Error(fmt::format("{}:{}: the last line is cut off (no newline; was the run interrupted while "
                              "writing?)", log.path, line));
    std::string row = text.substr(at, nl - at);
    at = nl + 1;
    nlohmann::json j = nlohmann::json::parse(row, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      throw Error(fmt::format("{}:{}: not a JSON object: '{}'", log.path, line, row.substr(0, 80)));
    if (!j.contains("step") || !j["step"].is_number_integer())
      throw Error(fmt::format("{}:{}: the row has no integer \"step\"", log.path, line));
    MetricsRow r;
    r.step = j["step"].get<int64_t>();
    for (auto &[key, value] : j.items())
      if (key != "step" && value.is_number()) r.values[key] = value.get<double>();
    log.rows.push_back(std::move(r));
  }
  return log;
}

}  // namespace heed::rt
