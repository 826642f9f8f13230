//===- TrainSettingsTest.cpp - the settings table and its users -----------===//
//
// The table of TrainSettings.h is the one source of the train settings: the
// docs (docs/LANGUAGE.md section 9) must list exactly its rows, and Settings
// must take plain defaults from it and apply the precedence flag > resumed run
// > train block > default.
//
//===----------------------------------------------------------------------===//

#include "runtime/AtomicFile.h"
#include "runtime/train/Settings.h"
#include "runtime/train/TrainSettings.h"
#include "tests/unit/runtime/TempDir.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#ifndef HEED_SOURCE_DIR
#error "HEED_SOURCE_DIR must be defined"
#endif

namespace heed::rt {
namespace {

std::string escapeCell(std::string s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

TEST(TrainSettings, KeysAreUniqueAndFlagsAreDashed) {
  std::set<std::string> keys;
  for (const TrainSetting &s : kTrainSettings) {
    EXPECT_TRUE(keys.insert(s.key).second) << s.key;
    EXPECT_EQ(findTrainSetting(s.key), &s);
  }
  EXPECT_EQ(findTrainSetting("warmpu"), nullptr);
  EXPECT_EQ(trainFlagName("eval_every"), "--eval-every");
}

TEST(TrainSettings, LanguageDocListsExactlyTheTable) {
  std::string doc = readWholeFile(std::string(HEED_SOURCE_DIR) + "/docs/LANGUAGE.md", "doc");
  size_t from = doc.find("## 9. `train { }` settings"), to = doc.find("## 10.", from);
  ASSERT_NE(from, std::string::npos);
  std::istringstream section(doc.substr(from, to - from));
  std::set<std::string> rows, want;
  for (std::string line; std::getline(section, line);)
    if (line.rfind("| `", 0) == 0) rows.insert(line);
  for (const TrainSetting &s : kTrainSettings)
    want.insert("| `" + std::string(s.key) + "` | " + escapeCell(s.help) + " | " + escapeCell(s.def) + " |");
  for (const std::string &w : want) EXPECT_TRUE(rows.count(w)) << "docs/LANGUAGE.md lacks the row\n" << w;
  for (const std::string &r : rows) EXPECT_TRUE(want.count(r)) << "docs/LANGUAGE.md has a row not in the table\n" << r;
}

TEST(TrainSettings, PrecedenceAndTableDefaults) {
  Settings s({{"steps", "7"}}, {{"steps", "9"}, {"log_every", "3"}, {"clip", "2.5"}});
  EXPECT_EQ(s.integer("steps", 1), 7);       // the flag
  EXPECT_EQ(s.integer("log_every", 1), 3);   // the train block
  EXPECT_EQ(s.integer("eval_every", 0), 200);  // the table
  EXPECT_EQ(s.str("schedule"), "noam");
  EXPECT_DOUBLE_EQ(s.number("clip", 0), 2.5);
  s.setResumed("log_every", "5");
  EXPECT_EQ(s.integer("log_every", 1), 5);  // the resumed run beats the block
  EXPECT_EQ(s.where("steps"), "--steps");
  EXPECT_EQ(s.where("log_every"), "the resumed run's log_every");
  EXPECT_EQ(s.where("clip"), "the model's train setting 'clip'");
  Settings bad({{"warmup", "x"}}, {});
  test::expectErrorContaining([&] { bad.integer("warmup", 0, 1); }, {"--warmup expects a positive integer, got 'x'"});
  // Out of int64's range: too large, not "not an integer".
  Settings huge({{"steps", "99999999999999999999"}, {"lr", "1e400"}}, {});
  test::expectErrorContaining([&] { huge.integer("steps", 0, 1); },
                              {"--steps: '99999999999999999999' is too large (at most 9223372036854775807)"});
  test::expectErrorContaining([&] { huge.number("lr", 0, 0); }, {"--lr: '1e400' is out of the range of a double"});
}

}  // namespace
}  // namespace heed::rt
