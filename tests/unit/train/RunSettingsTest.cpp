//===- RunSettingsTest.cpp - `heed check`'s train-block checks ------------===//
//
// checkTrainBlock must refuse every bad train-block value the trainer would:
// each row of the settings table with a value of the wrong kind, and the
// combinations that cannot work; and accept what a flag could still complete.
// A setting added to the table but read only later by the trainer fails the
// first test here.
//
//===----------------------------------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/train/RunSettings.h"
#include "runtime/train/TrainSettings.h"

#include <gtest/gtest.h>

#include <string>

namespace heed::rt {
namespace {

const std::map<std::string, double> kConfig = {{"d_model", 64}, {"batch", 8}};

/// The error checkTrainBlock throws for `block`, or "" if it accepts it.
std::string refusal(const std::map<std::string, std::string> &block, bool seq2seq = false,
                    const std::map<std::string, double> &config = kConfig) {
  try {
    checkTrainBlock(block, config, "m", seq2seq);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST(RunSettings, EverySettingOfTheTableIsCheckedBeforeTheData) {
  for (const TrainSetting &t : kTrainSettings) {
    const std::string type = t.type;
    if (type == "FILE" || type == "DIR") continue;  // any path is a value; the trainer opens it later
    const std::string bad = type == "NUM" ? "x" : "no-such-value";
    const std::string why = refusal({{t.key, bad}}, t.seq2seqOnly);
    EXPECT_NE(why.find("'" + bad + "'"), std::string::npos)
        << t.key << " = " << bad << ": " << (why.empty() ? "accepted" : why);
  }
}

TEST(RunSettings, RangesAndCombinations) {
  EXPECT_EQ(refusal({{"clip", "-1"}}), "the model's train setting 'clip' expects a non-negative number, got '-1'");
  EXPECT_EQ(refusal({{"batch", "0"}}), "the model's train setting 'batch' expects a positive integer, got '0'");
  EXPECT_EQ(refusal({{"seed", "1.5"}}), "the model's train setting 'seed' expects a non-negative integer, got '1.5'");
  EXPECT_EQ(refusal({{"schedule", "cosine"}, {"lr_floor", "1.5"}}),
            "the model's train setting 'lr_floor' is a fraction of the peak rate lr, in [0, 1]; got 1.5");
  EXPECT_EQ(refusal({{"lr_floor", "0.5"}}),
            "the model's train setting 'lr_floor' is the end of cosine's decay; schedule noam has none "
            "(--schedule cosine)");
  EXPECT_EQ(refusal({{"schedule_by", "time"}, {"max_minutes", "60"}}),
            "--schedule-by time needs a schedule that decays to an end, --schedule cosine; noam has none");
  EXPECT_EQ(refusal({{"batch", "16"}, {"micro_batches", "3"}}),
            "the batch of 16 does not split into 3 micro-batches: the batch must be a multiple of 3");
  EXPECT_EQ(refusal({{"optimizer", "lion"}}), "unknown optimizer 'lion' (valid: adam, adamw, sgd)");
  // A setting of the other kind of model would be ignored: refused, naming the model.
  EXPECT_EQ(refusal({{"buckets", "8 12"}}),
            "the model's train setting 'buckets' applies to sequence-to-sequence models; model 'm' is a "
            "decoder-only language model (its text goes through --tokenizer)");
  EXPECT_EQ(refusal({{"tokenizer", "bpe:8000"}}, /*seq2seq=*/true),
            "the model's train setting 'tokenizer' applies to language models; model 'm' is a "
            "sequence-to-sequence model: use --src-tokens and --tgt-tokens");
  EXPECT_EQ(refusal({{"buckets", "12 x"}}, /*seq2seq=*/true).rfind("the model's train setting 'buckets'", 0), 0u);
  EXPECT_EQ(refusal({{"src_tokens", "pieces"}}, /*seq2seq=*/true)
                .rfind("the model's train setting 'src_tokens' expects chars, space, ", 0),
            0u);
}

TEST(RunSettings, WhatAFlagCanStillSupplyIsNotRequired) {
  EXPECT_EQ(refusal({}), "");  // no data: heed train --data gives it
  EXPECT_EQ(refusal({{"schedule", "cosine"}, {"schedule_by", "time"}}), "");  // --max-minutes
  EXPECT_EQ(refusal({}, false, {{"batch", 8}}), "");  // noam's default rate without d_model: --lr
  EXPECT_EQ(refusal({{"batch", "128"}, {"steps", "60000"}, {"schedule", "cosine"}, {"lr", "0.0015"},
                     {"warmup", "3000"}, {"max_minutes", "60"}, {"buckets", "8 12"}, {"lr_floor", "0"},
                     {"precision", "bf16"}, {"micro_batches", "4"}},
                    /*seq2seq=*/true),
            "");
}

}  // namespace
}  // namespace heed::rt
