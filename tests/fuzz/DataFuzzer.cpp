//===- DataFuzzer.cpp - libFuzzer entry point for heed's file readers -----===//
//
// The readers of what users hand heed besides model files: safetensors
// checkpoints (runtime/Checkpoint), .npy initialisers (runtime/Npy), TSV
// training data and its tokenizers (runtime/seq2seq/ParallelData, Tokenizer),
// vocabularies stored in checkpoints (Vocab::deserialize), byte-level text
// (runtime/data/ByteDataset) and --buckets lists. Any byte string must either
// load or throw rt::Error; any other exception, a crash, a leak or a sanitizer
// report is a bug. The first byte picks the reader (corpus files start with it:
// tests/fuzz/data-corpus).
//
//===----------------------------------------------------------------------===//

#include "runtime/Checkpoint.h"
#include "runtime/Error.h"
#include "runtime/Npy.h"
#include "runtime/data/ByteDataset.h"
#include "runtime/seq2seq/LengthBuckets.h"
#include "runtime/seq2seq/ParallelData.h"
#include "runtime/seq2seq/Tokenizer.h"
#include "runtime/seq2seq/Vocab.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

using namespace heed::rt;

namespace {

void checkpoint(std::string_view bytes) {
  Checkpoint ck = parseCheckpoint(bytes, "fuzz.safetensors");
  if (ck.order.size() != ck.tensors.size()) std::abort();
  for (const std::string &name : ck.order) (void)ck.tensors.at(name).bytes();
  // What --resume does with a checkpoint's metadata.
  checkRunFormat(ck);
  (void)metadataInt(ck, "heed.step", 0);
  (void)metadataUnsigned(ck, "heed.seed", 1);
}

void tsv(std::string_view text) {
  if (text.size() < 2) return;
  const Tokenizer kinds[] = {Tokenizer::Chars, Tokenizer::Space, Tokenizer::Bytes};
  ParallelData pd = ParallelData::parse(text.substr(1), kinds[(uint8_t)text[0] % 3],
                                        kinds[(uint8_t)text[0] / 3 % 3], "fuzz.tsv");
  auto [src, tgt] = pd.buildVocabs();
  // A vocabulary must survive its own serialization (checkpoints store it so).
  if (Vocab::deserialize(src.serialize()).symbols() != src.symbols()) std::abort();
  EncodedData enc = pd.encode(src, tgt, 1 + text[0] % 16, 2 + text[0] % 16);
  if (enc.size() > 0) {
    Tensor s, ti, to;
    enc.batch(0, 3, 1, s, ti, to);
  }
}

void npy(std::string_view bytes) {
  Tensor t = parseNpy(bytes, "fuzz.npy");
  NpyInfo info = parseNpyHeader(bytes, bytes.size(), "fuzz.npy");
  if (info.shape != t.shape() || info.dtype != t.dtype()) std::abort();
  // What the writer makes of it must read back the same.
  Tensor back = parseNpy(encodeNpy(t));
  if (back.bytes() != t.bytes() || (t.bytes() && std::memcmp(back.raw(), t.raw(), t.bytes()) != 0))
    std::abort();
}

void text(std::string_view bytes) {
  ByteDataset d = ByteDataset::fromString(std::string(bytes), "fuzz.txt");
  if (d.size() >= 3) {
    Tensor tok, tgt;
    d.batch(1, 2, 2, 1, tok, tgt);
    (void)d.evalBatch(0, 2, 2, tok, tgt);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char *>(data) + 1, size - 1);
  try {
    switch (data[0] % 6) {
    case 0: checkpoint(in); break;
    case 1: tsv(in); break;
    case 2: npy(in); break;
    case 3: (void)Vocab::deserialize(in, "fuzz.vocab"); break;
    case 4: text(in); break;
    case 5: (void)parseBucketLengths(std::string(in), "--buckets"); break;
    }
  } catch (const Error &) {
    // A clear error is the right answer to a bad file.
  }
  return 0;
}
