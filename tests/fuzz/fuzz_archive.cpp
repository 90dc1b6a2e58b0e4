// libFuzzer harness for the fitted-object loaders. Plain byte mutation of a zip rarely gets past
// its CRCs, so the input is structured (fuzz_common.hpp): a selector byte, then (flags, member
// name, member bytes) triples. The harness writes a valid zip of those members with the library's
// own writer (io::detail::zip_writer) and calls the selected loader, so mutations reach the .npy
// member parser and the loaders' semantic validation (shapes, counts, state indices, ...).
#include "fuzz_common.hpp"
#include "rnnabs/abstraction/automaton.hpp"
#include "rnnabs/influence/sgd_influence.hpp"
#include "rnnabs/io/archive.hpp"
#include "rnnabs/io/detail/minizip.hpp"
#include "rnnabs/nn/profile.hpp"
#include "rnnabs/nn/rnn_classifier.hpp"
#include "rnnabs/stats/gmm.hpp"
#include "rnnabs/stats/kmeans.hpp"
#include "rnnabs/stats/pca.hpp"

namespace {

/// The model load_npz fills: the seed generator's state dict has the same config.
rnnabs::rnn_config state_dict_config() {
  return rnnabs::rnn_config{.input_size = 2, .hidden_size = 3, .num_classes = 2};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rnnabs;
  fuzz::reader r(data, size);
  const std::uint8_t selector = r.byte();
  const auto members = fuzz::decode_members(r);
  const auto path = fuzz::scratch_dir() / "in.npz";
  std::filesystem::remove(path);
  try {
    io::detail::zip_writer zw(path, "fuzz zip");
    for (const auto& m : members) {
      if (m.name.empty() || m.name.find('\0') != std::string::npos) continue;  // minizip takes C strings
      zw.add(m.name, m.bytes, m.compress);
    }
    zw.close();
  } catch (const rnnabs::io_error&) {
    return 0;  // e.g. a name minizip refuses: nothing to load
  }
  fuzz::expect_rnnabs_errors_only([&] {
    switch (selector % 12) {
      case 0: (void)pca::load(path); break;
      case 1: (void)gaussian_mixture::load(path); break;
      case 2: (void)automaton::load(path); break;
      case 3: (void)load_traces<float>(path); break;
      case 4: (void)lstm_classifier<float>::load(path); break;
      case 5: (void)gru_classifier<float>::load(path); break;
      case 6: (void)rnn_tanh_classifier<float>::load(path); break;
      case 7: {
        lstm_classifier<float> m(state_dict_config(), 1);
        m.load_npz(path);
        break;
      }
      case 8: (void)sgd_trajectory<double>::load(path); break;
      case 9: (void)sgd_trajectory<float>::load(path); break;
      case 11: (void)kmeans::load(path); break;
      default: {
        const auto a = io::load(path, "pca", 1 << 20);  // the generic archive layer, any entry
        for (const auto& name : a.names()) {
          fuzz::expect_rnnabs_errors_only([&] { (void)a.get(name); });
          fuzz::expect_rnnabs_errors_only([&] { (void)a.get_vector(name); });
          fuzz::expect_rnnabs_errors_only([&] { (void)a.get_scalar(name); });
          fuzz::expect_rnnabs_errors_only([&] { (void)a.get_string(name); });
        }
      }
    }
  });
  return 0;
}
