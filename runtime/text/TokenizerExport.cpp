//===- TokenizerExport.cpp - a run's tokenizer as files for other tools ---===//

#include "runtime/text/TokenizerExport.h"

#include <nlohmann/json.hpp>

namespace heed::rt {

std::vector<std::pair<std::string, std::string>> tokenizerExportFiles(const TextTokenizer &t) {
  std::vector<std::pair<std::string, std::string>> files;
  nlohmann::ordered_json info = {{"kind", t.kind()}, {"size", t.size()}, {"description", t.describe()}};
  std::optional<int32_t> start = t.startId();
  info["start_id"] = start ? nlohmann::ordered_json(*start) : nlohmann::ordered_json(nullptr);
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  if (t.kind() == "sentencepiece") {
    files.emplace_back("tokenizer.model", t.serialize());
    names.push_back("tokenizer.model");
  } else if (t.kind() == "words") {
    files.emplace_back("tokenizer.words", t.serialize());
    names.push_back("tokenizer.words");
  }
  info["files"] = names;
  files.insert(files.begin(), {"tokenizer.json", info.dump(1) + "\n"});
  return files;
}

}  // namespace heed::rt
