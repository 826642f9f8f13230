//===- tokenize_ids.cpp - a checkpoint's tokenizer, run by heed itself -----===//
//
// Test helper for tokenizer_export.py: prints the ids heed's own tokenizer
// (the one stored in CKPT) gives TEXT_FILE as a training document (start token
// first), one line of space-separated ids, and writes decode(encode(text)) to
// DECODED_FILE, so the exported Python tokenizer can be compared with heed's.
//
//   heed_tokenize_ids CKPT TEXT_FILE DECODED_FILE
//
//===----------------------------------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/train/RunCheckpoint.h"
#include "runtime/text/TokenizerStore.h"

#include <cstdio>
#include <fstream>
#include <sstream>

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: heed_tokenize_ids CKPT TEXT_FILE DECODED_FILE\n");
    return 2;
  }
  try {
    heed::rt::RunCheckpoint rc = heed::rt::readRunCheckpoint(argv[1]);
    auto tok = heed::rt::tokenizerFromMetadata(rc.ckpt.metadata, rc.path);
    std::ifstream in(argv[2], std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<int32_t> ids = tok->encodeDocument(text.str());
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
    std::ofstream(argv[3], std::ios::binary) << tok->decode(tok->encode(text.str()));
  } catch (const heed::rt::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
