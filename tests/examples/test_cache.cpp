// examples/common/cache.hpp: the examples' cache records (a sidecar `<file>.params` of the parameters
// and data a cached file was made from), their lookup and what a mismatch says.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../../examples/common/cache.hpp"
#include "../common/error_of.hpp"

namespace examples_cache_tests {

namespace fs = std::filesystem;
using examples::cache_check;
using examples::cache_lookup;
using examples::cache_policy;
using examples::cache_record;

rnnabs::sequence_batch<float> small_batch(float shift) {
  rnnabs::sequence_batch<float> b;
  for (int i = 0; i < 3; ++i)
    b.features.push_back(rnnabs::matrix<float>::Constant(4, 2, static_cast<float>(i) + shift));
  b.labels = rnnabs::index_vector::LinSpaced(3, 0, 2);
  return b;
}

cache_record model_record(long epochs, const rnnabs::sequence_batch<float>& data) {
  cache_record r("toy model");
  r.add("cell", "lstm")
      .add("hidden", 16)
      .add("epochs", epochs)
      .add("lr", 2e-3)
      .add("data.train", examples::fingerprint_of(data));
  return r;
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream os(p, std::ios::binary);
  os << s;
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("rnnabs_cache_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    file_ = dir_ / "model.bin";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  /// Stores `content` as the cached file with `r` as its record.
  cache_record store(const cache_record& r, const std::string& content = "weights") {
    return examples::cache_store(file_, r, [&](const fs::path& p) { write_text(p, content); });
  }
  /// cache_lookup with its log captured in log_.
  bool lookup(const cache_record& r, bool subset = false) {
    log_.str("");
    return cache_lookup(file_, r, {.subset = subset, .log = &log_});
  }
  fs::path dir_, file_;
  std::ostringstream log_;
};

TEST(CacheRecord, TextRoundTripsEveryKindOfValue) {
  cache_record r("a model");
  r.add("n", 12)
      .add("lr", 0.1)
      .add("tiny", 1e-300)
      .add("flag", true)
      .add("name", "a b = c")
      .add("path", std::string("x\\y\nz"))
      .add("list", std::vector<long>{3, 4, 5});
  const auto back = cache_record::parse(r.text());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
  EXPECT_EQ(*back->find("lr"), "0.1");
  EXPECT_EQ(*back->find("list"), "3,4,5");
  EXPECT_EQ(*back->find("path"), "x\\y\nz");
  EXPECT_EQ(*back->find("what"), "a model");
  EXPECT_NE(back->find("rnnabs"), nullptr);
  // Adding an entry again replaces it in place; a nested record lands under its name.
  r.add("n", 13).add("model", cache_record("inner").add("k", 1));
  EXPECT_EQ(*r.find("n"), "13");
  EXPECT_EQ(*r.find("model.what"), "inner");
  EXPECT_EQ(*r.find("model.k"), "1");
  EXPECT_NE(rnnabs_tests::error_of([&] { r.add("bad name", 1); }).find("not a valid entry name"), std::string::npos);
}

TEST(CacheRecord, GarbageIsNotARecord) {
  EXPECT_FALSE(cache_record::parse(""));
  EXPECT_FALSE(cache_record::parse("hello\n"));
  const std::string h = std::string(cache_record::header) + "\n";
  EXPECT_TRUE(cache_record::parse(h));
  EXPECT_FALSE(cache_record::parse(h + "no separator\n"));
  EXPECT_FALSE(cache_record::parse(h + "a = 1\na = 2\n"));  // a name twice
  EXPECT_FALSE(cache_record::parse(h + "a b = 1\n"));       // a bad name
  EXPECT_FALSE(cache_record::parse(h + "a = 1\\q\n"));      // a bad escape
  EXPECT_FALSE(cache_record::parse(h + "a = 1"));           // a cut last line
  EXPECT_FALSE(cache_record::parse(std::string("\0\xff\x01 = \n", 7)));
}

TEST(CacheFingerprint, SeesEveryByteAndTheShape) {
  const auto a = examples::fingerprint_of(small_batch(0)), b = examples::fingerprint_of(small_batch(0));
  EXPECT_EQ(a.str(), b.str());
  EXPECT_NE(a.str(), examples::fingerprint_of(small_batch(0.5F)).str());
  auto c = small_batch(0);
  c.labels(2) = 0;
  EXPECT_NE(a.str(), examples::fingerprint_of(c).str());
  auto d = small_batch(0);
  d.features[1].resize(2, 4);  // same bytes, other shape
  d.features[1].setConstant(1);
  EXPECT_NE(a.str(), examples::fingerprint_of(d).str());
  // Fed in pieces or at once: the same hash; flipping the top bit of two words does not cancel out.
  const std::string s = "0123456789abcdefghijklmnopqrstuvwxyz";
  examples::fingerprint whole, pieces;
  whole.bytes(s.data(), s.size());
  pieces.bytes(s.data(), 3).bytes(s.data() + 3, 10).bytes(s.data() + 13, s.size() - 13);
  EXPECT_EQ(whole.hash(), pieces.hash());
  EXPECT_EQ(whole.size(), s.size());
  std::string t = s;
  t[7] = static_cast<char>(t[7] ^ 0x80);
  t[15] = static_cast<char>(t[15] ^ 0x80);
  examples::fingerprint flipped;
  flipped.bytes(t.data(), t.size());
  EXPECT_NE(whole.hash(), flipped.hash());
}

TEST_F(CacheTest, StoredRecordIsFoundAgain) {
  const auto data = small_batch(0);
  EXPECT_FALSE(lookup(model_record(2, data)));  // no file: a silent miss
  EXPECT_EQ(log_.str(), "");
  const auto stored = store(model_record(2, data));
  EXPECT_TRUE(fs::exists(dir_ / "model.bin.params"));
  EXPECT_NE(stored.find("file"), nullptr);
  EXPECT_EQ(examples::read_cache_record(file_), stored);
  EXPECT_TRUE(lookup(model_record(2, data)));
  EXPECT_EQ(log_.str(), "");
}

TEST_F(CacheTest, ChangedParameterIsNamedWithBothValues) {
  const auto data = small_batch(0);
  store(model_record(2, data));
  EXPECT_FALSE(lookup(model_record(3, data)));
  EXPECT_NE(log_.str().find("epochs: '2' in the cache, '3' now"), std::string::npos) << log_.str();
  EXPECT_NE(log_.str().find("rebuilding"), std::string::npos);
  EXPECT_EQ(log_.str().find("data.train"), std::string::npos) << log_.str();
  // An entry only one side has is named too.
  auto more = model_record(2, data);
  more.add("dropout", 0.5);
  EXPECT_FALSE(lookup(more));
  EXPECT_NE(log_.str().find("dropout: (absent) in the cache, '0.5' now"), std::string::npos) << log_.str();
  // With cache_policy::error: an io_error that names the difference.
  const auto msg = rnnabs_tests::error_of(
      [&] { cache_lookup(file_, model_record(3, data), {.on_mismatch = cache_policy::error, .log = nullptr}); });
  EXPECT_NE(msg.find("epochs: '2' in the cache, '3' now"), std::string::npos) << msg;
}

TEST_F(CacheTest, ChangedDataFingerprintIsNamed) {
  store(model_record(2, small_batch(0)));
  EXPECT_FALSE(lookup(model_record(2, small_batch(1))));
  EXPECT_NE(log_.str().find("data.train: '"), std::string::npos) << log_.str();
  EXPECT_EQ(log_.str().find("epochs"), std::string::npos) << log_.str();
}

TEST_F(CacheTest, MissingRecordIsAMiss) {
  write_text(file_, "weights");  // a cache from before records: the file alone
  EXPECT_FALSE(lookup(model_record(2, small_batch(0))));
  EXPECT_NE(log_.str().find("has no record"), std::string::npos) << log_.str();
}

TEST_F(CacheTest, GarbageRecordIsAMissNotACrash) {
  store(model_record(2, small_batch(0)));
  for (const std::string& junk : {std::string(), std::string("\x00\x01\xfe garbage", 11), std::string(5000, '=')}) {
    write_text(examples::cache_record_path(file_), junk);
    EXPECT_FALSE(lookup(model_record(2, small_batch(0))));
    EXPECT_NE(log_.str().find("not a readable cache record"), std::string::npos) << log_.str();
  }
}

TEST_F(CacheTest, FileRewrittenBehindTheRecordIsAMiss) {
  store(model_record(2, small_batch(0)), "weights");
  write_text(file_, "other weights");
  EXPECT_FALSE(lookup(model_record(2, small_batch(0))));
  EXPECT_NE(log_.str().find("changed since its record was written"), std::string::npos) << log_.str();
}

TEST_F(CacheTest, FailedRebuildLeavesNoRecord) {
  store(model_record(2, small_batch(0)));
  EXPECT_THROW(examples::cache_store(file_, model_record(3, small_batch(0)),
                                     [](const fs::path&) { throw rnnabs::io_error("disk full"); }),
               rnnabs::io_error);
  EXPECT_FALSE(fs::exists(examples::cache_record_path(file_)));
  EXPECT_FALSE(lookup(model_record(2, small_batch(0))));
}

TEST_F(CacheTest, SubsetChecksOnlyTheNamedEntries) {
  store(model_record(12, small_batch(0)));  // e.g. a model another program trained for 12 epochs
  cache_record need;
  need.add("data.train", examples::fingerprint_of(small_batch(0)));
  EXPECT_TRUE(lookup(need, true));
  EXPECT_FALSE(lookup(need, false));  // in full: every entry the record has must be wanted too
  EXPECT_NE(log_.str().find("epochs: '12' in the cache, (absent) now"), std::string::npos) << log_.str();
}

TEST_F(CacheTest, DerivedCacheChainsOnTheModelsRecord) {
  const auto data = small_batch(0);
  const auto model = store(model_record(2, data));
  const fs::path traces = dir_ / "traces.npz";
  const auto traces_record = [&] {
    return cache_record("traces")
        .add("model", *examples::read_cache_record(file_))
        .add("data", examples::fingerprint_of(data));
  };
  examples::cache_store(traces, traces_record(), [](const fs::path& p) { write_text(p, "traces"); });
  log_.str("");
  EXPECT_TRUE(cache_lookup(traces, traces_record(), {.log = &log_}));
  // Retraining the model (even with the same parameters, to other weights) invalidates the traces.
  store(model_record(2, data), "retrained weights");
  EXPECT_FALSE(cache_lookup(traces, traces_record(), {.log = &log_}));
  EXPECT_NE(log_.str().find("model.file: '"), std::string::npos) << log_.str();
  (void)model;
}

}  // namespace examples_cache_tests
