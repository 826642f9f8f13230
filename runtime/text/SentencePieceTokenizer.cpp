//===- SentencePieceTokenizer.cpp - BPE and unigram via SentencePiece -----===//
//
// The only file that includes SentencePiece. Training reads the data's lines
// (one sentence each) through a SentenceIterator, so no file is written, and
// returns the serialized model proto. The trainer's settings are fixed
// (num_threads 2, character_coverage 1.0, defaults otherwise), so the same data
// and size give the same pieces; the proto's bytes record num_threads, which is
// why a model is identified by its pieces (identity()).
//
//===----------------------------------------------------------------------===//

#include "runtime/text/Tokenizer.h"

#include "runtime/Error.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <unordered_map>

namespace heed::rt {

namespace {

class LineIterator : public sentencepiece::SentenceIterator {
public:
  explicit LineIterator(const std::string &text) : text(text) { advance(); }
  bool done() const override { return finished; }
  void Next() override { advance(); }
  const std::string &value() const override { return line; }
  sentencepiece::util::Status status() const override { return {}; }

private:
  void advance() {
    // Skips empty lines: they hold no pieces.
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      line.assign(text, pos, end - pos);
      pos = end + 1;
      if (!line.empty()) return;
    }
    finished = true;
  }
  const std::string &text;
  size_t pos = 0;
  std::string line;
  bool finished = false;
};

class SentencePieceTokenizer : public TextTokenizer {
public:
  SentencePieceTokenizer(const std::string &proto, const std::string &name) {
    sentencepiece::util::Status st = sp.LoadFromSerializedProto(proto);
    if (!st.ok() || sp.GetPieceSize() <= 0)
      throw Error("'" + name + "' is not a SentencePiece model" + (st.ok() ? "" : ": " + st.ToString()));
    if (sp.eos_id() < 0 || sp.eos_id() >= sp.GetPieceSize())
      throw Error("SentencePiece model '" + name +
                  "' has no end-of-sentence piece (</s>): heed needs it to mark line ends");
    bytes = proto;
  }
  std::string kind() const override { return "sentencepiece"; }
  std::string describe() const override {
    return "SentencePiece " + modelType() + ", " + std::to_string(size()) + " pieces";
  }
  int64_t size() const override { return sp.GetPieceSize(); }
  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    std::vector<int> piece;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t end = text.find('\n', pos);
      const bool last = end == std::string_view::npos;
      if (last) end = text.size();
      if (end > pos) {
        sentencepiece::util::Status st = sp.Encode(text.substr(pos, end - pos), &piece);
        if (!st.ok()) throw Error("SentencePiece cannot encode the text: " + st.ToString());
        ids.insert(ids.end(), piece.begin(), piece.end());
      }
      if (last) break;
      ids.push_back(sp.eos_id());
      pos = end + 1;
    }
    return ids;
  }
  std::string decode(const std::vector<int32_t> &ids) const override {
    std::string out, part;
    std::vector<int> line;
    auto flush = [&] {
      if (line.empty()) return;
      sentencepiece::util::Status st = sp.Decode(line, &part);
      if (!st.ok()) throw Error("SentencePiece cannot decode: " + st.ToString());
      out += part;
      line.clear();
    };
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= size())
        throw Error("id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                    " is outside the tokenizer's " + std::to_string(size()) + " pieces");
      if (ids[i] == sp.eos_id()) {
        flush();
        out += '\n';
      } else {
        line.push_back(ids[i]);
      }
    }
    flush();
    return out;
  }
  std::optional<int32_t> startId() const override { return sp.eos_id(); }
  std::vector<std::string> split(std::string_view text) const override {
    std::vector<std::string> pieces;
    sentencepiece::util::Status st = sp.Encode(text, &pieces);
    if (!st.ok()) throw Error("SentencePiece cannot encode the text: " + st.ToString());
    return pieces;
  }
  std::string join(const std::vector<std::string> &pieces) const override {
    std::string out;
    sentencepiece::util::Status st = sp.Decode(pieces, &out);
    if (!st.ok()) throw Error("SentencePiece cannot decode: " + st.ToString());
    return out;
  }
  std::string serialize() const override { return bytes; }
  std::string identity() const override {
    std::string s = "sentencepiece:" + modelType();
    for (int i = 0; i < sp.GetPieceSize(); ++i) s += "\n" + sp.IdToPiece(i);
    return s;
  }

private:
  /// TrainerSpec.model_type (ModelProto field 2, its field 3), read from the
  /// proto's wire format: Debian ships no sentencepiece_model.pb.h.
  std::string modelType() const {
    const int64_t t = protoVarint(protoField(bytes, 2), 3);
    switch (t) {
    case 1: return "unigram";
    case 2: return "bpe";
    case 3: return "word";
    case 4: return "char";
    default: return "model";
    }
  }
  /// The first length-delimited field `number` of message `m` ("" if absent or malformed).
  static std::string protoField(const std::string &m, uint64_t number) {
    size_t i = 0;
    uint64_t key, len;
    while (readVarint(m, i, key)) {
      const uint64_t wire = key & 7;
      if (wire == 2) {
        if (!readVarint(m, i, len) || len > m.size() - i) return "";
        if (key >> 3 == number) return m.substr(i, len);
        i += len;
      } else if (!skip(m, i, wire)) {
        return "";
      }
    }
    return "";
  }
  /// The first varint field `number` of message `m` (-1 if absent or malformed).
  static int64_t protoVarint(const std::string &m, uint64_t number) {
    size_t i = 0;
    uint64_t key, v;
    while (readVarint(m, i, key)) {
      const uint64_t wire = key & 7;
      if (wire == 0) {
        if (!readVarint(m, i, v)) return -1;
        if (key >> 3 == number) return (int64_t)v;
      } else if (wire == 2) {
        if (!readVarint(m, i, v) || v > m.size() - i) return -1;
        i += v;
      } else if (!skip(m, i, wire)) {
        return -1;
      }
    }
    return -1;
  }
  static bool readVarint(const std::string &m, size_t &i, uint64_t &v) {
    v = 0;
    for (int shift = 0; shift < 64 && i < m.size(); shift += 7) {
      const unsigned char b = (unsigned char)m[i++];
      v |= (uint64_t)(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  static bool skip(const std::string &m, size_t &i, uint64_t wire) {
    const size_t n = wire == 1 ? 8 : wire == 5 ? 4 : 0;
    if (n == 0 || m.size() - i < n) return false;
    i += n;
    return true;
  }
  sentencepiece::SentencePieceProcessor sp;
  std::string bytes;
};

}  // namespace

std::unique_ptr<TextTokenizer> trainSentencePiece(const std::string &modelType, int64_t pieces,
                                                  const std::string &text, const std::string &trainingFile) {
  LineIterator lines(text);
  if (lines.done()) throw Error("data file '" + trainingFile + "' has no text to train a " + modelType + " tokenizer on");
  std::unordered_map<std::string, std::string> args = {
      {"model_type", modelType},       {"vocab_size", std::to_string(pieces)},
      {"num_threads", "2"},            {"character_coverage", "1.0"},
      {"minloglevel", "2"},            {"model_prefix", ""}};
  std::string proto;
  sentencepiece::util::Status st = sentencepiece::SentencePieceTrainer::Train(args, &lines, &proto);
  if (!st.ok())
    throw Error("--tokenizer " + modelType + ":" + std::to_string(pieces) + ": SentencePiece cannot train on '" +
                trainingFile + "': " + st.ToString());
  return loadSentencePiece(proto, trainingFile);
}

std::unique_ptr<TextTokenizer> loadSentencePiece(const std::string &modelBytes, const std::string &name) {
  return std::make_unique<SentencePieceTokenizer>(modelBytes, name);
}

}  // namespace heed::rt
