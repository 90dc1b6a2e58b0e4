// Host-side tests of the CUDA backend (they run without a GPU): the cuDNN <-> PyTorch weight layout
// mapping, typed errors, device queries, argument checks that come before any device call.
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "cuda_test.hpp"
#include "rnnabs/cuda.hpp"

namespace {
using namespace rnnabs;

rnn_config config(index_t layers, bool bidir) {
  return {.input_size = 5, .hidden_size = 3, .num_layers = layers, .bidirectional = bidir, .num_classes = 4};
}

template <class Cell>
void round_trip(index_t layers, bool bidir) {
  const rnn_config c = config(layers, bidir);
  rnn_parameter_index idx;
  const parameter_layout L = make_rnn_layout(c, Cell::gates, idx);
  const auto addr = cuda::canonical_cudnn_addresses(c, Cell::gates);
  const index_t size = cuda::canonical_cudnn_size(c, Cell::gates);
  const auto map = cuda::make_cudnn_weight_map(c, Cell::gates, L, idx, addr, size);
  // Every packed element is covered exactly once (canonical layout has no gaps).
  std::vector<int> hits(static_cast<std::size_t>(size), 0);
  for (const auto& s : map.segments)
    for (index_t k = 0; k < s.size; ++k) ++hits[static_cast<std::size_t>(s.packed + k)];
  for (index_t k = 0; k < size; ++k) ASSERT_EQ(hits[static_cast<std::size_t>(k)], 1) << "packed element " << k;
  // Every recurrent flat element is covered exactly once; the head is not.
  std::vector<int> flat_hits(static_cast<std::size_t>(L.size()), 0);
  for (const auto& s : map.segments)
    for (index_t k = 0; k < s.size; ++k) ++flat_hits[static_cast<std::size_t>(s.flat + k)];
  for (index_t i = 0; i < static_cast<index_t>(L.entries().size()); ++i) {
    const auto& e = L[i];
    const int want = (i == idx.fc_weight || i == idx.fc_bias) ? 0 : 1;
    for (index_t k = 0; k < e.size(); ++k) ASSERT_EQ(flat_hits[static_cast<std::size_t>(e.offset + k)], want) << e.name;
  }
  // flat -> packed -> flat is the identity on the recurrent entries.
  std::vector<double> flat(static_cast<std::size_t>(L.size())), packed(static_cast<std::size_t>(size), -1.0);
  std::iota(flat.begin(), flat.end(), 1.0);
  map.to_packed(flat.data(), packed.data());
  std::vector<double> back(flat.size(), 0.0);
  map.to_flat(packed.data(), back.data());
  for (index_t i = 0; i < static_cast<index_t>(L.entries().size()); ++i) {
    const auto& e = L[i];
    const bool head = i == idx.fc_weight || i == idx.fc_bias;
    for (index_t k = 0; k < e.size(); ++k)
      ASSERT_EQ(back[static_cast<std::size_t>(e.offset + k)], head ? 0.0 : flat[static_cast<std::size_t>(e.offset + k)])
          << e.name << "[" << k << "]";
  }
}

TEST(CudaLayout, RoundTripLstm) {
  round_trip<lstm_cell>(1, false);
  round_trip<lstm_cell>(2, true);
}
TEST(CudaLayout, RoundTripGru) {
  round_trip<gru_cell>(1, false);
  round_trip<gru_cell>(3, true);
}

TEST(CudaLayout, GateBlocksLandWhereDocumented) {
  const rnn_config c = config(2, true);  // I = 5, H = 3, directions 2
  const index_t G = lstm_cell::gates, H = 3, I = 5;
  rnn_parameter_index idx;
  const parameter_layout L = make_rnn_layout(c, G, idx);
  const auto addr = cuda::canonical_cudnn_addresses(c, G);
  const auto map = cuda::make_cudnn_weight_map(c, G, L, idx, addr, cuda::canonical_cudnn_size(c, G));
  std::vector<double> flat(static_cast<std::size_t>(L.size()), 0.0), packed(map.packed_size, 0.0);
  // weight_ih_l0 (forget gate f = 1, row j = 2, column 4) -> matrix (pl 0, linLayerID 1), row 2, col 4.
  flat[static_cast<std::size_t>(L.find("rnn.weight_ih_l0").offset + (1 * H + 2) * I + 4)] = 7;
  // weight_hh_l1_reverse (output gate o = 3, row 0, col 1) -> matrix (pl 3, linLayerID G + 3).
  flat[static_cast<std::size_t>(L.find("rnn.weight_hh_l1_reverse").offset + (3 * H + 0) * H + 1)] = 8;
  // bias_hh_l0_reverse (cell gate g = 2, unit 1) -> bias of (pl 1, linLayerID G + 2).
  flat[static_cast<std::size_t>(L.find("rnn.bias_hh_l0_reverse").offset + 2 * H + 1)] = 9;
  map.to_packed(flat.data(), packed.data());
  const auto at = [&](index_t pl, index_t id) { return addr[static_cast<std::size_t>(pl * 2 * G + id)]; };
  EXPECT_EQ(packed[static_cast<std::size_t>(at(0, 1).matrix_offset + 2 * I + 4)], 7);
  EXPECT_EQ(at(3, G + 3).matrix_rows, H);
  EXPECT_EQ(at(3, G + 3).matrix_cols, H);
  EXPECT_EQ(packed[static_cast<std::size_t>(at(3, G + 3).matrix_offset + 0 * H + 1)], 8);
  EXPECT_EQ(packed[static_cast<std::size_t>(at(1, G + 2).bias_offset + 1)], 9);
  // Layer 1 reads the bidirectional output: its input matrices are H × 2H.
  EXPECT_EQ(at(2, 0).matrix_cols, 2 * H);
  double total = 0;
  for (double v : packed) total += v;
  EXPECT_EQ(total, 24);
}

TEST(CudaLayout, RejectsInconsistentAddresses) {
  const rnn_config c = config(1, false);
  rnn_parameter_index idx;
  const parameter_layout L = make_rnn_layout(c, gru_cell::gates, idx);
  auto addr = cuda::canonical_cudnn_addresses(c, gru_cell::gates);
  const index_t size = cuda::canonical_cudnn_size(c, gru_cell::gates);
  auto fewer = addr;
  fewer.pop_back();
  EXPECT_THROW(cuda::make_cudnn_weight_map(c, gru_cell::gates, L, idx, fewer, size), invalid_argument);
  EXPECT_THROW(cuda::make_cudnn_weight_map(c, gru_cell::gates, L, idx, addr, size - 1), invalid_argument);
  addr[2].bias_size = 2;
  EXPECT_THROW(cuda::make_cudnn_weight_map(c, gru_cell::gates, L, idx, addr, size), invalid_argument);
}

TEST(CudaRuntime, DeviceCountIsAnAnswer) {
  const int n = cuda::device_count();  // no device, no driver: 0, never an exception
  EXPECT_GE(n, 0);
  if (n == 0) {
    EXPECT_THROW(cuda::require_device("test"), cuda_error);
  } else {
    EXPECT_NO_THROW(cuda::require_device("test"));
  }
}

TEST(CudaRuntime, ErrorsNameTheCallAndStatus) {
  try {
    RNNABS_CUDA_CHECK(CUBLAS_STATUS_INVALID_VALUE);
    FAIL() << "no throw";
  } catch (const cuda_error& e) {
    EXPECT_STREQ(e.library(), "cublas");
    EXPECT_EQ(e.status(), static_cast<int>(CUBLAS_STATUS_INVALID_VALUE));
    EXPECT_NE(std::string(e.what()).find("CUBLAS_STATUS_INVALID_VALUE"), std::string::npos) << e.what();
  }
  EXPECT_THROW(RNNABS_CUDA_CHECK(CUSOLVER_STATUS_EXECUTION_FAILED), cuda_error);
  EXPECT_THROW(RNNABS_CUDA_CHECK(CURAND_STATUS_LAUNCH_FAILURE), cuda_error);
  EXPECT_THROW(RNNABS_CUDA_CHECK(CUDNN_STATUS_BAD_PARAM), cuda_error);
  EXPECT_THROW(RNNABS_CUDA_CHECK(cudaErrorInvalidValue), error);  // cuda_error is an rnnabs::error
  EXPECT_NO_THROW(RNNABS_CUDA_CHECK(cudaSuccess));
  try {
    RNNABS_CUDA_CHECK(CUDNN_STATUS_BAD_PARAM);
  } catch (const cuda_error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDNN_STATUS_BAD_PARAM"), std::string::npos) << e.what();
  }
}

TEST(CudaRuntime, RoutinesWithoutDeviceThrowTyped) {
  if (cuda::has_device()) GTEST_SKIP() << "a device is present";
  const matrix<double> X = matrix<double>::Random(50, 3);
  EXPECT_THROW(cuda::pca_fit(X, 2), cuda_error);
  gaussian_mixture g({.n_components = 2, .covariance = covariance_type::diag});
  EXPECT_THROW(cuda::fit(g, X), cuda_error);
  EXPECT_THROW(cuda::gradient_dot_products(X, X), cuda_error);
  // The CPU backend of the same call works anywhere.
  const auto r = cuda::fit(g, X, cuda::backend::cpu);
  EXPECT_EQ(r.used, cuda::backend::cpu);
  EXPECT_TRUE(g.fitted());
}

TEST(CudaRnn, UnsupportedConfigsAreRejectedBeforeAnyDeviceCall) {
  rnn_config tok{.input_size = 4, .vocab_size = 10, .hidden_size = 3, .num_classes = 2};
  const lstm_classifier<float> m1(tok, 1);
  EXPECT_THROW(cuda::cudnn_rnn<lstm_cell> a(m1), invalid_argument);
  EXPECT_THROW(cuda::rnn_engine<lstm_cell> b(m1), invalid_argument);
  rnn_config two{.input_size = 4, .hidden_size = 3, .num_layers = 2, .num_classes = 2};
  const gru_classifier<float> m2(two, 1);
  EXPECT_THROW(cuda::rnn_engine<gru_cell> c(m2), invalid_argument);
  rnn_config every{.input_size = 4, .hidden_size = 3, .num_classes = 2, .head = head_mode::every_step};
  const gru_classifier<float> m3(every, 1);
  EXPECT_THROW(cuda::cudnn_rnn<gru_cell> d(m3), invalid_argument);
}

}  // namespace
