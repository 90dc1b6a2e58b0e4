// Writes the seed corpora of the fuzz targets, every file made by the library itself:
//   gen_seeds <out-dir> <object-file> <ar-archive>
// out-dir/<target>/ receives: npy (arrays of every dtype, both byte orders, Fortran order, format
// 2.0), npz (stored and deflated), idx (raw and gzip), archive (PCA, k-means, GMM of each covariance type,
// automaton, traces, LSTM/GRU/RNN classifiers, a state dict, sgd trajectories, in the structured
// format of fuzz_archive.cpp), text (each reader's format), elf (the given object file and ar
// archive, made by the build script with clang and ar).
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>

#include "fuzz_common.hpp"
#include "rnnabs/abstraction/automaton.hpp"
#include "rnnabs/influence/sgd_influence.hpp"
#include "rnnabs/io/archive.hpp"
#include "rnnabs/io/detail/minizip.hpp"
#include "rnnabs/io/npy.hpp"
#include "rnnabs/io/npz.hpp"
#include "rnnabs/nn/profile.hpp"
#include "rnnabs/nn/rnn_classifier.hpp"
#include "rnnabs/stats/gmm.hpp"
#include "rnnabs/stats/kmeans.hpp"
#include "rnnabs/stats/pca.hpp"

namespace fs = std::filesystem;
using namespace rnnabs;

namespace {

fs::path out_root;

void put(const std::string& target, const std::string& name, std::string_view bytes) {
  const fs::path d = out_root / target;
  fs::create_directories(d);
  std::ofstream o(d / name, std::ios::binary | std::ios::trunc);
  o.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!o) throw std::runtime_error("cannot write " + (d / name).string());
}

std::string slurp(const fs::path& p) { return io::detail::read_file_bytes(p, "gen_seeds"); }

/// The members of a zip written by the library, in the structured format of fuzz_archive.cpp.
void put_archive(const std::string& name, std::uint8_t selector, const fs::path& zip) {
  std::vector<fuzz::member> ms;
  io::detail::unzip_handle z(zip, "gen_seeds");
  z.for_each_member([&](const std::string& n, std::string&& b) { ms.push_back({false, n, std::move(b)}); });
  put("archive", name, fuzz::encode_members(selector, ms));
  if (!ms.empty()) {  // the same members, deflated
    for (auto& m : ms) m.compress = true;
    put("archive", name + "-deflate", fuzz::encode_members(selector, ms));
  }
}

std::string gzip(std::string_view raw) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("zlib");
  std::string out(deflateBound(&zs, raw.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("zlib deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

/// An IDX file as the MNIST tools write it: big-endian dims and data.
std::string idx_bytes(std::uint8_t code, const std::vector<std::uint32_t>& dims, std::size_t width) {
  std::string s{'\0', '\0', static_cast<char>(code), static_cast<char>(dims.size())};
  std::size_t n = 1;
  for (auto d : dims) {
    for (int k = 3; k >= 0; --k) s += static_cast<char>((d >> (8 * k)) & 0xFF);
    n *= d;
  }
  for (std::size_t i = 0; i < n * width; ++i) s += static_cast<char>((i * 37 + 11) & 0xFF);
  return s;
}

matrix<double> blobs(index_t n, index_t d, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> nd;
  matrix<double> x(n, d);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < d; ++j) x(i, j) = nd(g) + (i % 2 ? 4.0 : -4.0) * (j == 0);
  return x;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 4) {
    std::cerr << "usage: gen_seeds <out-dir> <object-file> <ar-archive>\n";
    return 2;
  }
  out_root = argv[1];
  const fs::path tmp = out_root / "tmp";
  fs::create_directories(tmp);

  // ---- npy / npz ---------------------------------------------------------------------------------
  std::map<std::string, io::npy_array> arrays;
  arrays["f8"] = io::to_npy_array(xt::xarray<double>{{1.5, -2.0, 3.25}, {4.0, 0.0, -1e300}});
  arrays["f4"] = io::to_npy_array(xt::xarray<float>{1.0f, 2.5f, -3.0f});
  arrays["i8"] = io::to_npy_array(xt::xarray<std::int64_t>{{{1, -2}, {3, 4}}, {{5, 6}, {7, -8}}});
  arrays["i4"] = io::to_npy_array(xt::xarray<std::int32_t>{7, -9, 11});
  arrays["i2"] = io::to_npy_array(xt::xarray<std::int16_t>{{1, 2}, {3, 4}});
  arrays["u2"] = io::to_npy_array(xt::xarray<std::uint16_t>{65535, 1});
  arrays["u4"] = io::to_npy_array(xt::xarray<std::uint32_t>{4000000000u});
  arrays["u8"] = io::to_npy_array(xt::xarray<std::uint64_t>{1, 2});
  arrays["u1"] = io::to_npy_array(xt::xarray<std::uint8_t>{0, 255, 3});
  arrays["i1"] = io::to_npy_array(xt::xarray<std::int8_t>{-128, 127});
  arrays["b1"] = io::to_npy_array(xt::xarray<bool>{true, false, true});
  {
    io::npy_array scalar;  // 0-d
    scalar.type = io::dtype::f8;
    scalar.data = std::string(8, '\0');
    arrays["scalar"] = scalar;
    io::npy_array empty;  // shape (0, 3)
    empty.type = io::dtype::f4;
    empty.shape = {0, 3};
    arrays["empty"] = empty;
  }
  for (const auto& [name, a] : arrays) {
    put("npy", name + ".npy", io::serialize_npy(a));
    put("npy", name + "-big-fortran.npy",
        io::serialize_npy(a, {.version = 0, .byte_order = std::endian::big, .fortran_order = true}));
  }
  put("npy", "f8-v2.npy", io::serialize_npy(arrays["f8"], {.version = 2}));
  put("npy", "f8-v3.npy", io::serialize_npy(arrays["f8"], {.version = 3}));
  io::save_npz(tmp / "all.npz", arrays, false);
  put("npz", "stored.npz", slurp(tmp / "all.npz"));
  io::save_npz(tmp / "allz.npz", arrays, true);
  put("npz", "deflated.npz", slurp(tmp / "allz.npz"));
  io::save_npz(tmp / "one.npz", {{"x", arrays["f4"]}}, true);
  put("npz", "one.npz", slurp(tmp / "one.npz"));
  io::save_npz(tmp / "none.npz", {}, false);
  put("npz", "empty.npz", slurp(tmp / "none.npz"));

  // ---- idx ---------------------------------------------------------------------------------------
  const std::string images = idx_bytes(0x08, {3, 4, 4}, 1), labels = idx_bytes(0x08, {3}, 1);
  put("idx", "images.idx", images);
  put("idx", "labels.idx", labels);
  put("idx", "images.idx.gz", gzip(images));
  put("idx", "i16.idx", idx_bytes(0x0B, {2, 3}, 2));
  put("idx", "i32.idx.gz", gzip(idx_bytes(0x0C, {5}, 4)));
  put("idx", "f32.idx", idx_bytes(0x0D, {2, 2}, 4));
  put("idx", "f64.idx.gz", gzip(idx_bytes(0x0E, {1, 2, 1}, 8)));
  put("idx", "i8.idx", idx_bytes(0x09, {4}, 1));
  put("idx", "two-members.idx.gz", gzip(images.substr(0, 10)) + gzip(images.substr(10)));

  // ---- fitted-object archives (selectors of fuzz_archive.cpp) -----------------------------------
  const matrix<double> X = blobs(40, 3, 7);
  pca p({.n_components = 2, .whiten = true});
  p.fit(X);
  p.save(tmp / "pca.npz");
  put_archive("pca", 0, tmp / "pca.npz");
  {
    kmeans km({.n_clusters = 3, .seed = 2});
    km.fit(X);
    km.save(tmp / "kmeans.npz");
    put_archive("kmeans", 11, tmp / "kmeans.npz");
  }
  for (auto c : {covariance_type::full, covariance_type::tied, covariance_type::diag, covariance_type::spherical}) {
    gaussian_mixture g({.n_components = 2, .covariance = c, .seed = 3});
    g.fit(X);
    g.save(tmp / "gmm.npz");
    put_archive("gmm-" + std::string(to_string(c)), 1, tmp / "gmm.npz");
  }
  {
    std::mt19937_64 gen(5);
    std::vector<index_vector> states, labs, toks;
    for (int i = 0; i < 6; ++i) {
      const index_t len = 2 + i % 3;
      index_vector s(len), l(len), t(len);
      for (index_t j = 0; j < len; ++j) {
        s(j) = 1 + static_cast<index_t>(gen() % 3);
        l(j) = static_cast<index_t>(gen() % 2);
        t(j) = static_cast<index_t>(gen() % 3);
      }
      states.push_back(s), labs.push_back(l), toks.push_back(t);
    }
    auto a = automaton::build(states, labs, toks, 4, 2, 3);
    a.save(tmp / "automaton.npz");
    put_archive("automaton-tokens", 2, tmp / "automaton.npz");
    a.remove({1});
    a.save(tmp / "automaton.npz");
    put_archive("automaton-removed", 2, tmp / "automaton.npz");
    auto b = automaton::build(states, labs, {}, 4, 2);
    b.save(tmp / "automaton.npz");
    put_archive("automaton-features", 2, tmp / "automaton.npz");
  }
  {
    traces<float> tr;
    for (int i = 0; i < 3; ++i) {
      const index_t len = 1 + i;
      tr.hidden.push_back(matrix<float>::Constant(len, 2, 0.25f * static_cast<float>(i)));
      tr.step_probabilities.push_back(matrix<float>::Constant(len, 2, 0.5f));
      tr.step_labels.push_back(index_vector::Constant(len, i % 2));
      tr.tokens.push_back(index_vector::Constant(len, i));
    }
    tr.predictions = index_vector::Constant(3, 1);
    tr.truth = index_vector::Constant(3, 0);
    save_traces(tmp / "traces.npz", tr);
    put_archive("traces-tokens", 3, tmp / "traces.npz");
    tr.tokens.clear();
    save_traces(tmp / "traces.npz", tr);
    put_archive("traces", 3, tmp / "traces.npz");
  }
  {
    lstm_classifier<float> lstm(rnn_config{.input_size = 2, .hidden_size = 3, .num_classes = 2}, 1);
    lstm.save(tmp / "m.npz");
    put_archive("lstm", 4, tmp / "m.npz");
    gru_classifier<float> gru(rnn_config{.input_size = 1,
                                         .vocab_size = 4,
                                         .hidden_size = 2,
                                         .num_layers = 2,
                                         .bidirectional = true,
                                         .num_classes = 3},
                              2);
    gru.save(tmp / "m.npz");
    put_archive("gru-tokens-bi", 5, tmp / "m.npz");
    rnn_tanh_classifier<float> rnn(rnn_config{.input_size = 2, .hidden_size = 2, .num_classes = 2}, 3);
    rnn.save(tmp / "m.npz");
    put_archive("rnn-tanh", 6, tmp / "m.npz");
    // The state dict load_npz reads (the config of fuzz_archive.cpp's state_dict_config).
    lstm.save_npz(tmp / "sd.npz");
    put_archive("lstm-state-dict", 7, tmp / "sd.npz");
  }
  {
    sgd_trajectory<double> t;
    vector<double> w = vector<double>::Zero(3), g = vector<double>::Ones(3);
    const std::vector<index_t> b0{0, 2}, b1{1};
    t.record(step_record<double>{0, 0, &b0, &w, &g, 0.1, 0.0});
    w -= 0.1 * g;
    t.record(step_record<double>{1, 1, &b1, &w, &g, 0.1, 0.0});
    t.finish(w - 0.1 * g);
    t.save(tmp / "traj.npz");
    put_archive("sgd-trajectory", 8, tmp / "traj.npz");
    sgd_trajectory<float> tf;
    vector<float> wf = vector<float>::Zero(2), gf = vector<float>::Ones(2);
    tf.record(step_record<float>{0, 0, &b0, &wf, &gf, 0.5, 0.0});
    tf.finish(wf - 0.5f * gf);
    tf.save(tmp / "traj.npz");
    put_archive("sgd-trajectory-f32", 9, tmp / "traj.npz");
  }
  put_archive("generic", 10, tmp / "pca.npz");

  // ---- text (selector byte + file, fuzz_text.cpp) ------------------------------------------------
  const auto text = [](std::uint8_t sel, std::string_view body) {
    return std::string(1, static_cast<char>(sel)) + std::string(body);
  };
  put("text", "strfile", text(0, "A fortune.\n%\nAnother one,\n  on two lines.\n%\n\n%\nLast\n"));
  put("text", "labelled", text(1, "pos\tgood film\r\nneg\tbad film\n\nneu\t ok \n"));
  put("text", "csv",
      text(2, "\xEF\xBB\xBFid,label,text\n1,pos,\"quoted, with \"\"quotes\"\"\nand a newline\"\n2,neg,plain\r\n"));
  put("text", "csv-semicolon", text(0x80, "label;text\npos;\"a;b\"\n"));
  put("text", "embeddings", text(3, "3 2\nthe 0.1 -0.2\ncat 1e-3 4\na 5 6\n"));
  put("text", "vocabulary", text(4, "<pad>\n<unk>\nthe\ncat\n"));
  put("text", "labelled-csv", text(5, "label,text\npos,good\nneg,bad\n"));
  put("text", "labelled-tsv", text(6, "pos\tgood\nneg\tbad\n"));

  // ---- elf / ar ----------------------------------------------------------------------------------
  put("elf", "object.o", slurp(argv[2]));
  put("elf", "archive.a", slurp(argv[3]));

  fs::remove_all(tmp);
  for (const auto& d : fs::directory_iterator(out_root)) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& f : fs::directory_iterator(d.path())) ++n;
    std::cout << "gen_seeds: " << d.path().filename().string() << ": " << n << " seeds\n";
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "gen_seeds: " << e.what() << "\n";
  return 1;
}
