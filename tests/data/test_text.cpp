// Tests of the text readers (io/text.hpp), the tokenizer, vocabulary and text data sets
// (data/text.hpp, data/fortunes.hpp) and their encoding as token batches (nn/text_sequences.hpp).
// The tokenizer's reference: tests/fixtures/make_text_fixtures.py (Python `re`, the documented rules).
#include <gtest/gtest.h>

#include "../common/error_of.hpp"
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <rnnabs/core/rng.hpp>
#include <rnnabs/data/fortunes.hpp>
#include <rnnabs/data/text.hpp>
#include <rnnabs/io/text.hpp>
#include <rnnabs/nn/text_sequences.hpp>
#include <set>
#include <string>
#include <vector>

namespace data_text_tests {

namespace fs = std::filesystem;
using namespace rnnabs;
using strings = std::vector<std::string>;

class TempDir {
 public:
  TempDir()
      : p_(fs::temp_directory_path() / ("rnnabs_text_" + std::to_string(::getpid()) + "_" + std::to_string(n_++))) {
    fs::create_directories(p_);
  }
  ~TempDir() { fs::remove_all(p_); }
  fs::path file(const std::string& name, const std::string& content) const {
    std::ofstream(p_ / name, std::ios::binary) << content;
    return p_ / name;
  }
  const fs::path& path() const { return p_; }

 private:
  static inline int n_ = 0;
  fs::path p_;
};

using rnnabs_tests::error_of;

// ---- readers --------------------------------------------------------------------------------

TEST(TextIo, StrfileEntries) {
  TempDir d;
  const auto p = d.file("topic",
                        "First entry\n  spans two lines\n%\n%\nSecond\r\n%\r\n\n  \n%\nLast, no final percent\n");
  const auto e = io::read_strfile(p);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0], "First entry\n  spans two lines");
  EXPECT_EQ(e[1], "Second");
  EXPECT_EQ(e[2], "Last, no final percent");
  // A '%' inside a line, or "%%", is text.
  const auto q = io::read_strfile(d.file("t2", "100% sure\n%%\n%\nx\n"));
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0], "100% sure\n%%");
  EXPECT_THROW(io::read_strfile(d.file("empty", "%\n%\n")), io_error);
  EXPECT_THROW(io::read_strfile(d.path() / "missing"), io_error);
}

TEST(TextIo, LabelledLines) {
  TempDir d;
  const auto r = io::read_labelled_lines(d.file("a.tsv", "pos\tgood film\n\nneg\t bad\t film \r\n"));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].label, "pos");
  EXPECT_EQ(r[1].text, "bad\t film");  // the first tab splits; the text keeps later tabs
  EXPECT_EQ(r[1].line, 3u);
  EXPECT_NE(
      error_of([&] { io::read_labelled_lines(d.file("b.tsv", "pos\tok\nno tab here\n")); }).find("line 2 has no tab"),
      std::string::npos);
  EXPECT_NE(error_of([&] { io::read_labelled_lines(d.file("c.tsv", "pos\t  \n")); }).find("empty text"),
            std::string::npos);
  EXPECT_NE(error_of([&] { io::read_labelled_lines(d.file("e.tsv", "\tx\n")); }).find("empty label"),
            std::string::npos);
  EXPECT_THROW(io::read_labelled_lines(d.file("f.tsv", "\n\n")), io_error);
}

TEST(TextIo, CsvQuotingAndColumns) {
  TempDir d;
  const auto p = d.file("a.csv", "id,comment_text,toxic\r\n"
                                 "1,\"Hello, \"\"world\"\"\",0\r\n"
                                 "2,\"two\nlines\",1\n"
                                 "\n"
                                 "3,,0\n"
                                 "4,\"\",1");
  const auto r = io::read_csv_columns(p, {"toxic", "comment_text"});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].first, (strings{"0", "Hello, \"world\""}));
  EXPECT_EQ(r[1].first, (strings{"1", "two\nlines"}));
  EXPECT_EQ(r[1].second, 3u);
  EXPECT_EQ(r[2].first, (strings{"0", ""}));
  EXPECT_EQ(r[2].second, 6u);
  EXPECT_EQ(r[3].first, (strings{"1", ""}));
  EXPECT_NE(error_of([&] { io::read_csv_columns(p, {"text"}); }).find("no column 'text'"), std::string::npos);
  EXPECT_NE(
      error_of([&] { io::read_csv_columns(d.file("b.csv", "a,b\n1,2\n3\n"), {"a"}); }).find("line 3 has 1 fields"),
      std::string::npos);
  EXPECT_NE(error_of([&] { io::read_csv_columns(d.file("c.csv", "a,b\n1,\"open\n"), {"a"}); }).find("never closed"),
            std::string::npos);
  EXPECT_NE(error_of([&] { io::read_csv_columns(d.file("e.csv", "a,b\n1,\"x\"y\n"), {"a"}); }).find("closing quote"),
            std::string::npos);
  EXPECT_THROW(io::read_csv_columns(d.file("f.csv", ""), {"a"}), io_error);
  // A byte-order mark and lines of spaces are no field and no record.
  const auto bom = io::read_csv_columns(d.file("g.csv", "\xEF\xBB\xBFtext,label\n  \nhi,1\n"), {"text"});
  ASSERT_EQ(bom.size(), 1u);
  EXPECT_EQ(bom[0].first[0], "hi");
  EXPECT_THROW(io::read_csv_columns(d.file("h.csv", "a,b\n\"x\"\ry,1\n"), {"a"}), io_error);  // lone CR after a quote
}

TEST(TextIo, RandomBytesGiveRecordsOrAnIoError) {
  // Short random documents over the characters that matter to the parsers: never a crash, never an
  // exception other than io_error, and every record of a CSV has the header's field count.
  TempDir d;
  rng g(17);
  const std::string alphabet = "ab,\"\n\r\t% ";
  for (int trial = 0; trial < 400; ++trial) {
    std::string doc = "x,y\n";
    const auto len = g.below(40);
    for (std::uint64_t k = 0; k < len; ++k) doc.push_back(alphabet[g.below(alphabet.size())]);
    const auto p = d.file("r.csv", doc);
    try {
      for (const auto& [f, line] : io::read_csv_columns(p, {"y", "x"})) {
        EXPECT_EQ(f.size(), 2u);
        EXPECT_GE(line, 2u);
      }
    } catch (const io_error&) {
    }
    try {
      for (const auto& e : io::read_strfile(p)) EXPECT_FALSE(e.empty());
    } catch (const io_error&) {
    }
    try {
      io::read_labelled_lines(p);
    } catch (const io_error&) {
    }
    for (const auto& t : data::tokenize(doc)) EXPECT_FALSE(t.empty());
  }
}

TEST(TextIo, EmbeddingsText) {
  TempDir d;
  const auto p = d.file("g.txt", "the 0.1 0.2 -0.3\ncat 1 2 3\nthe 9 9 9\nzebra 4 5 6\n");
  const std::unordered_map<std::string, std::size_t> want{{"the", 0}, {"cat", 2}, {"dog", 1}};
  const auto r = io::read_embeddings_text(p, want, 3);
  EXPECT_EQ(r.dim, 3u);
  EXPECT_EQ(r.lines, 4u);
  EXPECT_EQ(r.found, (std::vector<char>{1, 0, 1}));
  EXPECT_DOUBLE_EQ(r.values[2], -0.3);  // the first vector of "the" wins
  EXPECT_DOUBLE_EQ(r.values[6], 1.0);
  EXPECT_NE(
      error_of([&] { io::read_embeddings_text(d.file("h.txt", "a 1 2\nb 1\n"), want, 3); }).find("line 2 has 1 values"),
      std::string::npos);
  EXPECT_NE(
      error_of([&] { io::read_embeddings_text(d.file("i.txt", "a 1 x\n"), want, 3); }).find("'x' is not a number"),
      std::string::npos);
  EXPECT_NE(error_of([&] { io::read_embeddings_text(d.file("j.txt", "a 1 inf\n"), want, 3); }).find("non-finite"),
            std::string::npos);
  const auto ft = io::read_embeddings_text(d.file("k.vec", "2 3\ncat 1 2 3\nthe 4 5 6\n"), want, 3);  // fastText header
  EXPECT_EQ(ft.dim, 3u);
  EXPECT_EQ(ft.lines, 2u);
  EXPECT_DOUBLE_EQ(ft.values[0], 4.0);
}

// ---- tokenizer and vocabulary -------------------------------------------------------------------

std::string unescape(const std::string& s) {
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      r.push_back(c == 't' ? '\t' : c == 'n' ? '\n' : c);
    } else {
      r.push_back(s[i]);
    }
  }
  return r;
}

TEST(Tokenizer, MatchesThePythonReferenceOfTheRules) {
  std::ifstream in(fs::path(RNNABS_TEST_DATA) / "text" / "tokenizer.tsv", std::ios::binary);
  ASSERT_TRUE(in.is_open());
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos);
    const std::string input = unescape(line.substr(0, tab));
    strings expected;
    std::string cur;
    for (const char c : line.substr(tab + 1)) {
      if (c == '\x01') {
        expected.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    expected.push_back(cur);
    EXPECT_EQ(data::tokenize(input), expected) << input;
    ++cases;
  }
  EXPECT_EQ(cases, 12);
  EXPECT_TRUE(data::tokenize("").empty());
  EXPECT_TRUE(data::tokenize(" \t\n").empty());
}

TEST(Vocabulary, FrequencyOrderTiesAndSpecials) {
  const std::vector<strings> docs{{"b", "a", "c", "a"}, {"c", "d", "a", "<unk>"}, {"e"}};
  const auto v = data::vocabulary::build(docs);
  // a:3, c:2, then b, d, e with 1 in byte order; "<unk>" in a text is not a word of its own.
  EXPECT_EQ(v.words(), (strings{"<pad>", "<unk>", "a", "c", "b", "d", "e"}));
  EXPECT_EQ(v.frequency(2), 3);
  EXPECT_EQ(v.id("c"), 3);
  EXPECT_EQ(v.id("zzz"), data::vocabulary::unk);
  const auto v2 = data::vocabulary::build(docs, {.min_freq = 2});
  EXPECT_EQ(v2.words(), (strings{"<pad>", "<unk>", "a", "c"}));
  const auto v3 = data::vocabulary::build(docs, {.max_size = 3});
  EXPECT_EQ(v3.words(), (strings{"<pad>", "<unk>", "a"}));
  index_t oov = 0;
  const auto ids = v2.encode({"a", "b", "c", "q"}, &oov);
  EXPECT_EQ(oov, 2);
  EXPECT_EQ(v2.decode(ids), (strings{"a", "<unk>", "c", "<unk>"}));
  EXPECT_THROW(v2.word(4), invalid_argument);
  EXPECT_THROW(data::vocabulary::build({}), invalid_argument);
  EXPECT_THROW(data::vocabulary::build(docs, {.min_freq = 0}), invalid_argument);
  EXPECT_THROW(data::vocabulary(strings{"a", "<unk>"}), invalid_argument);
  EXPECT_NE(error_of([] {
              data::vocabulary(strings{"<pad>", "<unk>", "x", "y", "x"});
            }).find("'x' is listed twice (ids 2 and 4)"),
            std::string::npos);
  auto v4 = v2;
  EXPECT_EQ(v4.add("neurips"), 4);
  EXPECT_EQ(v4.add("a"), 2);
}

TEST(Vocabulary, SaveLoadRoundTrip) {
  TempDir d;
  const auto v = data::vocabulary::build({{"x", "y", "y", "é"}});
  v.save(d.path() / "v.txt");
  EXPECT_EQ(data::vocabulary::load(d.path() / "v.txt"), v);
  EXPECT_THROW(data::vocabulary::load(d.file("bad.txt", "a\nb\n")), io_error);
}

// ---- data sets -----------------------------------------------------------------------------------

TEST(TextData, LabelledTextLoaderTsvAndCsv) {
  TempDir d;
  const auto tsv = d.file("a.tsv", "pos\tA fine film.\nneg\tDull, dull, dull!\npos\tFine.\n");
  const auto a = data::load_labelled_text(tsv);
  EXPECT_EQ(a.class_names, (strings{"neg", "pos"}));
  EXPECT_EQ(a.labels, (index_vector(3) << 1, 0, 1).finished());
  EXPECT_EQ(a.tokens[1], (strings{"dull", ",", "dull", ",", "dull", "!"}));
  const auto b = data::load_labelled_text(tsv, {.classes = {"pos", "neg"}});
  EXPECT_EQ(b.labels, (index_vector(3) << 0, 1, 0).finished());
  EXPECT_NE(error_of([&] {
              data::load_labelled_text(tsv, {.classes = {"pos", "neutral"}});
            }).find("unknown label 'neg'"),
            std::string::npos);
  const auto c = data::load_labelled_text(tsv, {.max_tokens = 3});
  EXPECT_EQ(c.size(), 1);  // only "Fine." (2 tokens) fits
  const auto t = data::load_labelled_text(tsv, {.max_tokens = 3, .truncate = true});
  EXPECT_EQ(t.tokens[1].size(), 3u);
  const auto csv = d.file("a.csv", "text,label\n\"Nice, really\",pos\nmeh,neg\n");
  const auto e = data::load_labelled_text(csv);
  EXPECT_EQ(e.tokens[0], (strings{"nice", ",", "really"}));
  EXPECT_EQ(data::load_labelled_text(d.file("p.tsv", "pos\t!!!\nneg\t   .\n")).size(), 2);  // punctuation is text
  EXPECT_NE(error_of([&] { data::load_labelled_text(d.file("q.csv", "text,label\n\"\",pos\n")); }).find("no token"),
            std::string::npos);
}

TEST(TextData, ValidateNamesTheProblem) {
  data::text_dataset d;
  EXPECT_NE(error_of([&] { d.validate("t"); }).find("no sample"), std::string::npos);
  d.tokens = {{"a"}, {}};
  d.labels = (index_vector(2) << 0, 1).finished();
  d.class_names = {"x", "y"};
  EXPECT_NE(error_of([&] { d.validate("t"); }).find("text 1 is empty"), std::string::npos);
  d.tokens[1] = {"b"};
  d.labels(1) = 2;
  EXPECT_NE(error_of([&] { d.validate("t"); }).find("label 2 of text 1"), std::string::npos);
}

data::text_dataset toy_dataset(index_t n) {
  data::text_dataset d;
  d.class_names = {"a", "b"};
  d.labels.resize(n);
  for (index_t i = 0; i < n; ++i) {
    std::string w = "w", v = "v";  // (not "w" + to_string: GCC 12's -Wrestrict false positive, bug 105329)
    w += std::to_string(i % 7);
    v += std::to_string(i);
    d.tokens.push_back({w, v});
    d.labels(i) = i % 3 == 0 ? 1 : 0;
  }
  return d;
}

TEST(TextData, SplitIsStratifiedSeededAndDisjoint) {
  const auto d = toy_dataset(90);
  const auto s1 = data::train_test_split(d, 0.2, 5), s2 = data::train_test_split(d, 0.2, 5),
             s3 = data::train_test_split(d, 0.2, 6);
  EXPECT_EQ(s1.test.tokens, s2.test.tokens);
  EXPECT_NE(s1.test.tokens, s3.test.tokens);
  EXPECT_EQ(s1.train.size() + s1.test.size(), 90);
  EXPECT_EQ(s1.test.class_sizes(), (std::vector<index_t>{12, 6}));  // 20 % of 60 and of 30
  std::set<strings> tr(s1.train.tokens.begin(), s1.train.tokens.end());
  for (const auto& t : s1.test.tokens) EXPECT_EQ(tr.count(t), 0u);
  EXPECT_THROW(data::train_test_split(d, 1.0, 1), invalid_argument);
}

TEST(TextData, FortunesLoaderOnGeneratedStrfiles) {
  TempDir d;
  d.file("computers",
         "Unix is simple.\n%\nIt just takes a genius to understand its simplicity.\n%\nUnix is simple.\n%\n");
  d.file("science", "E = mc^2\n%\none two three four five six\n");
  d.file("people", "-- Anonymous\n%\n");
  const data::topic_grouping g{{"tech", "folk"}, {{"computers", "science"}, {"people"}}, 5};
  const auto f = data::load_fortunes(d.path(), g);
  // "Unix is simple." repeated -> kept once; the 10-token and 6-token entries exceed max_tokens 5.
  ASSERT_EQ(f.size(), 3);
  EXPECT_EQ(f.class_names, (strings{"tech", "folk"}));
  EXPECT_EQ(f.labels, (index_vector(3) << 0, 0, 1).finished());
  EXPECT_EQ(f.tokens[1], (strings{"e", "=", "mc", "^", "2"}));
  const data::topic_grouping missing{{"x"}, {{"nonexistent"}}, 60};
  const auto msg = error_of([&] { data::load_fortunes(d.path(), missing); });
  EXPECT_NE(msg.find("apt-get install fortunes"), std::string::npos) << msg;
  EXPECT_THROW(data::load_fortunes(d.path(), missing), io_error);
}

TEST(TextData, TextSequencesEncodeAndRejectAllOov) {
  const auto d = toy_dataset(6);
  const auto v = data::vocabulary::build({{"w0", "w1", "v2"}});
  encode_report r;
  EXPECT_THROW(text_sequences<float>(d, v), invalid_argument);  // text 3 ("w3", "v3") is all-OOV
  const auto b = text_sequences<float>(d, v, &r, /*allow_all_oov=*/true);
  EXPECT_EQ(b.size(), 6);
  EXPECT_EQ(b.tokens[0], (index_vector(2) << v.id("w0"), data::vocabulary::unk).finished());
  EXPECT_EQ(r.oov, (std::vector<index_t>{1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(r.oov_tokens, 9);
  EXPECT_EQ(r.all_oov_texts, 3);
  EXPECT_EQ(b.labels, d.labels);
}

TEST(TextData, PretrainedEmbeddings) {
  TempDir d;
  const auto p = d.file("glove.txt", "cat 1 2\ndog 3 4\n");
  const auto v = data::vocabulary::build({{"cat", "cat", "emu"}});  // <pad>, <unk>, cat, emu
  index_t found = -1;
  const auto e = data::load_embeddings<double>(p, v, 3, &found);
  ASSERT_EQ(e.rows(), 4);
  ASSERT_EQ(e.cols(), 2);
  EXPECT_EQ(found, 1);
  EXPECT_TRUE(e.row(0).isZero());
  EXPECT_TRUE(e.row(1).isZero());
  EXPECT_EQ(e(2, 1), 2.0);
  EXPECT_FALSE(e.row(3).isZero());  // N(0, 1) for emu
  EXPECT_EQ(e.row(3), data::load_embeddings<double>(p, v, 3).row(3));
  EXPECT_THROW(data::load_embeddings<float>(d.path() / "none.txt", v, 1), io_error);
}

}  // namespace data_text_tests
