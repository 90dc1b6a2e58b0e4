#pragma once
// LSTM and GRU classifiers through cuDNN's v8/v9 RNN API: cudnnRNNForward (training mode),
// cudnnRNNBackwardData_v8 and cudnnRNNBackwardWeights_v8, with the dense head, the softmax
// cross-entropy and an SGD step in our own kernels / cuBLAS. The twin of rnn_classifier's forward,
// loss_gradient and a training step, for any number of layers, bidirectional or not, variable
// lengths, feature input and a last-step cross-entropy head.
//
// Weights move between the flat PyTorch layout and cuDNN's weight space through the documented
// mapping of cuda/rnn_layout.hpp, with the block addresses queried from cudnnGetRNNWeightParams.
//
//   rnnabs::cuda::cudnn_rnn<rnnabs::lstm_cell> gpu(model);   // model: rnn_classifier<lstm_cell, float>
//   gpu.set_batch(batch);
//   double loss = gpu.train_step(0.1f);                       // forward + backward + SGD on the device
//   model.set_parameters(gpu.parameters());                   // back to the CPU model
#include <memory>
#include <vector>

#include "rnnabs/cuda/blas.cuh"
#include "rnnabs/cuda/rnn_engine.cuh"
#include "rnnabs/cuda/rnn_layout.hpp"
#include "rnnabs/cuda/runtime.cuh"

namespace rnnabs::cuda {

namespace kernels {
/// feat[b] = [hy(top layer, dir 0)[b], hy(top, dir 1)[b]] (to_feat) or the reverse scatter into dhy.
template <class T>
__global__ void final_states(T* __restrict__ hy, T* __restrict__ feat, int L, int D, int B, int H, bool to_feat) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= B * D * H) return;
  const int b = i / (D * H), r = i - b * D * H, d = r / H, j = r - d * H;
  const std::size_t src = (static_cast<std::size_t>((L - 1) * D + d) * B + b) * H + j;
  if (to_feat) feat[i] = hy[src];
  else hy[src] = feat[i];
}
}  // namespace kernels

template <class T>
constexpr cudnnDataType_t cudnn_type() {
  if constexpr (std::same_as<T, float>) return CUDNN_DATA_FLOAT;
  else return CUDNN_DATA_DOUBLE;
}

/// RAII for cuDNN descriptors.
template <class H, cudnnStatus_t (*Create)(H*), cudnnStatus_t (*Destroy)(H)>
class cudnn_descriptor {
 public:
  cudnn_descriptor() { RNNABS_CUDA_CHECK(Create(&h_)); }
  ~cudnn_descriptor() {
    if (h_) (void)Destroy(h_);
  }
  cudnn_descriptor(const cudnn_descriptor&) = delete;
  cudnn_descriptor& operator=(const cudnn_descriptor&) = delete;
  H get() const noexcept { return h_; }
  operator H() const noexcept { return h_; }

 private:
  H h_ = nullptr;
};
using rnn_descriptor = cudnn_descriptor<cudnnRNNDescriptor_t, cudnnCreateRNNDescriptor, cudnnDestroyRNNDescriptor>;
using rnn_data_descriptor =
    cudnn_descriptor<cudnnRNNDataDescriptor_t, cudnnCreateRNNDataDescriptor, cudnnDestroyRNNDataDescriptor>;
using tensor_descriptor =
    cudnn_descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using dropout_descriptor =
    cudnn_descriptor<cudnnDropoutDescriptor_t, cudnnCreateDropoutDescriptor, cudnnDestroyDropoutDescriptor>;

template <recurrent_cell Cell, class T = float>
class cudnn_rnn {
  static_assert(std::same_as<Cell, lstm_cell> || std::same_as<Cell, gru_cell>,
                "rnnabs::cuda::cudnn_rnn: cuDNN cells are lstm_cell and gru_cell");
  static constexpr bool lstm = std::same_as<Cell, lstm_cell>;

 public:
  /// allow_tf32: cuDNN/cuBLAS may use TF32 tensor cores for float (PyTorch's default for cuDNN);
  /// off, float math is exact FP32 (CUDNN_FMA_MATH), comparable with the CPU twin.
  explicit cudnn_rnn(const rnn_classifier<Cell, T>& model, bool allow_tf32 = false)
      : cfg_(checked(model.config())), tf32_(allow_tf32) {
    layout_ = make_rnn_layout(cfg_, Cell::gates, idx_, model.names());
    dnn_ = std::make_unique<cudnn_handle>(stream_.get());
    blas_ = std::make_unique<cublas_handle>(stream_.get());
    if (allow_tf32 && std::same_as<T, float>) blas_->allow_tf32(true);
    std::size_t states = 0;
    RNNABS_CUDA_CHECK(cudnnDropoutGetStatesSize(*dnn_, &states));
    dropout_states_.resize(states);
    RNNABS_CUDA_CHECK(cudnnSetDropoutDescriptor(dropout_, *dnn_, 0.0f, dropout_states_.data(), states, 0));
    const auto set = [&](cudnnMathType_t math) {
      return cudnnSetRNNDescriptor_v8(
          rnn_, CUDNN_RNN_ALGO_STANDARD, lstm ? CUDNN_LSTM : CUDNN_GRU, CUDNN_RNN_DOUBLE_BIAS,
          cfg_.bidirectional ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, cudnn_type<T>(),
          cudnn_type<T>(), math, static_cast<int32_t>(cfg_.input_size), static_cast<int32_t>(cfg_.hidden_size),
          static_cast<int32_t>(cfg_.hidden_size), static_cast<int32_t>(cfg_.num_layers), dropout_,
          CUDNN_RNN_PADDED_IO_ENABLED);
    };
    const cudnnMathType_t math = (allow_tf32 || !std::same_as<T, float>) ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    if (set(math) != CUDNN_STATUS_SUCCESS) RNNABS_CUDA_CHECK(set(CUDNN_DEFAULT_MATH));
    std::size_t wbytes = 0;
    RNNABS_CUDA_CHECK(cudnnGetRNNWeightSpaceSize(*dnn_, rnn_, &wbytes));
    w_.resize(wbytes / sizeof(T));
    dw_.resize(wbytes / sizeof(T));
    w_.zero(stream_);
    addresses_ = query_addresses();
    map_ = make_cudnn_weight_map(cfg_, Cell::gates, layout_, idx_, addresses_, static_cast<index_t>(w_.size()));
    head_w_.resize(static_cast<std::size_t>(layout_[idx_.fc_weight].size()));
    head_b_.resize(static_cast<std::size_t>(layout_[idx_.fc_bias].size()));
    dhead_w_.resize(head_w_.size());
    dhead_b_.resize(head_b_.size());
    set_parameters(model.parameters());
  }

  /// The config, once the scope and a device are checked (before any member touches the device).
  static rnn_config checked(const rnn_config& c) {
    const char* who = "cuda::cudnn_rnn";
    require(!c.token_input(), who, ": feature input only (the model has an embedding); use the CPU model");
    require(c.head == head_mode::last_step && c.loss == loss_kind::cross_entropy, who,
            ": a last-step head with cross_entropy only; use the CPU model");
    require_device(who);
    return c;
  }

  /// The weight-space addresses cuDNN reports (compare with canonical_cudnn_addresses()).
  const std::vector<cudnn_param_address>& addresses() const noexcept { return addresses_; }
  const cudnn_weight_map& weight_map() const noexcept { return map_; }
  index_t weight_space_size() const noexcept { return static_cast<index_t>(w_.size()); }

  /// θ (flat, state_dict order) onto the device: recurrent blocks into cuDNN's space, the head apart.
  void set_parameters(const vector<T>& theta) {
    require(theta.size() == layout_.size(), "cuda::cudnn_rnn::set_parameters: ", theta.size(),
            " values, the model has ", layout_.size());
    std::vector<T> packed(w_.size(), T(0));
    map_.to_packed(theta.data(), packed.data());
    w_.upload(packed, stream_);
    head_w_.upload(theta.data() + layout_[idx_.fc_weight].offset, head_w_.size(), stream_);
    head_b_.upload(theta.data() + layout_[idx_.fc_bias].offset, head_b_.size(), stream_);
  }
  /// θ back in the flat layout.
  vector<T> parameters() { return gather(w_, head_w_, head_b_); }

  /// Uploads a batch (any lengths >= 1; labels needed for the loss).
  void set_batch(const sequence_batch<T>& b) {
    const char* who = "cuda::cudnn_rnn::set_batch";
    require(b.size() > 0 && !b.has_tokens(), who, ": a non-empty batch of feature sequences is needed");
    require(b.labels.size() == b.size(), who, ": ", b.labels.size(), " labels for ", b.size(), " sequences");
    B_ = b.size();
    Tmax_ = 0;
    lengths_.assign(static_cast<std::size_t>(B_), 0);
    for (index_t i = 0; i < B_; ++i) {
      require(b.length(i) >= 1 && b.features[static_cast<std::size_t>(i)].cols() == cfg_.input_size, who, ": sequence ",
              i, " is empty or has ", b.features[static_cast<std::size_t>(i)].cols(), " features (the model takes ",
              cfg_.input_size, ")");
      lengths_[static_cast<std::size_t>(i)] = static_cast<int>(b.length(i));
      Tmax_ = std::max(Tmax_, b.length(i));
    }
    const index_t I = cfg_.input_size;
    std::vector<T> x(static_cast<std::size_t>(B_ * Tmax_ * I), T(0));  // batch-major, padded
    for (index_t i = 0; i < B_; ++i)
      for (index_t t = 0; t < b.length(i); ++t)
        for (index_t a = 0; a < I; ++a)
          x[static_cast<std::size_t>((i * Tmax_ + t) * I + a)] = b.features[static_cast<std::size_t>(i)](t, a);
    std::vector<int> y(static_cast<std::size_t>(B_));
    for (index_t i = 0; i < B_; ++i) {
      require(b.labels(i) >= 0 && b.labels(i) < cfg_.num_classes, who, ": label ", b.labels(i), " of sequence ", i,
              " is outside [0, ", cfg_.num_classes, ")");
      y[static_cast<std::size_t>(i)] = static_cast<int>(b.labels(i));
    }
    x_.upload(x, stream_);
    y_.upload(y, stream_);
    dev_lengths_.upload(lengths_, stream_);
    const int Bi = static_cast<int>(B_), Ti = static_cast<int>(Tmax_), Hd = static_cast<int>(cfg_.output_size());
    T fill(0);
    RNNABS_CUDA_CHECK(cudnnSetRNNDataDescriptor(xdesc_, cudnn_type<T>(), CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, Ti,
                                                Bi, static_cast<int>(I), lengths_.data(), &fill));
    RNNABS_CUDA_CHECK(cudnnSetRNNDataDescriptor(ydesc_, cudnn_type<T>(), CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, Ti,
                                                Bi, Hd, lengths_.data(), &fill));
    const int dims[3] = {static_cast<int>(cfg_.num_layers * cfg_.directions()), Bi, static_cast<int>(cfg_.hidden_size)};
    const int strides[3] = {dims[1] * dims[2], dims[2], 1};
    RNNABS_CUDA_CHECK(cudnnSetTensorNdDescriptor(hdesc_, cudnn_type<T>(), 3, dims, strides));
    std::size_t work = 0, reserve = 0;
    RNNABS_CUDA_CHECK(cudnnGetRNNTempSpaceSizes(*dnn_, rnn_, CUDNN_FWD_MODE_TRAINING, xdesc_, &work, &reserve));
    work_.resize(work);
    reserve_.resize(reserve);
    const std::size_t hsize = static_cast<std::size_t>(dims[0]) * dims[1] * dims[2];
    y_out_.resize(static_cast<std::size_t>(B_ * Tmax_ * cfg_.output_size()));
    dy_.resize(y_out_.size());
    dx_.resize(x_.size());
    for (auto* b2 : {&hy_, &cy_, &dhy_, &dcy_, &dhx_, &dcx_}) b2->resize(hsize);
    feat_.resize(static_cast<std::size_t>(B_ * cfg_.output_size()));
    dfeat_.resize(feat_.size());
    z_.resize(static_cast<std::size_t>(B_ * cfg_.num_classes));
    dz_.resize(z_.size());
    loss_.resize(static_cast<std::size_t>(B_));
  }

  /// Forward pass: logits and, when record, the top layer's output at every step (T_i × H·D each).
  rnn_output<T> forward(bool record) {
    forward_device();
    rnn_output<T> out;
    const index_t C = cfg_.num_classes, HD = cfg_.output_size();
    out.logits.resize(B_, C);
    z_.download(out.logits.data(), static_cast<std::size_t>(B_ * C), stream_);
    out.probabilities.resize(B_, C);
    out.predictions.resize(B_);
    for (index_t r = 0; r < B_; ++r) {
      rnnabs::detail::output_distribution(cfg_.loss, out.logits.row(r).data(), C, out.probabilities.row(r).data());
      index_t best = 0;
      out.probabilities.row(r).maxCoeff(&best);
      out.predictions[r] = best;
    }
    if (record) {
      std::vector<T> y(y_out_.size());
      y_out_.download(y.data(), y.size(), stream_);
      out.hidden.resize(static_cast<std::size_t>(B_));
      for (index_t i = 0; i < B_; ++i) {
        const index_t len = lengths_[static_cast<std::size_t>(i)];
        out.hidden[static_cast<std::size_t>(i)] = Eigen::Map<const matrix<T>>(
            y.data() + static_cast<std::size_t>(i * Tmax_ * HD), len, HD);
      }
    }
    return out;
  }

  /// Gradient of the mean loss (flat layout); loss_out receives the loss.
  vector<T> loss_gradient(double* loss_out = nullptr) {
    forward_device();
    backward_device();
    if (loss_out) *loss_out = last_loss();
    return gather(dw_, dhead_w_, dhead_b_);
  }

  /// One SGD step θ ← θ − lr·∇ on the device; returns the loss before the step (synchronises).
  double train_step(T lr) {
    train_step_async(lr);
    return last_loss();
  }
  /// The same without the loss read-back (no host synchronisation: for benchmarks).
  void train_step_async(T lr) {
    forward_device();
    backward_device();
    axpy<T>(w_.size(), -lr, dw_.data(), w_.data(), stream_);
    axpy<T>(head_w_.size(), -lr, dhead_w_.data(), head_w_.data(), stream_);
    axpy<T>(head_b_.size(), -lr, dhead_b_.data(), head_b_.data(), stream_);
  }
  void synchronize() const { stream_.synchronize(); }

  double last_loss() {
    std::vector<double> l(static_cast<std::size_t>(B_));
    loss_.download(l.data(), l.size(), stream_);
    double s = 0;
    for (double x : l) s += x;
    return s / static_cast<double>(B_);
  }

 private:
  std::vector<cudnn_param_address> query_addresses() {
    std::vector<cudnn_param_address> out;
    tensor_descriptor md, bd;
    const index_t G = Cell::gates;
    for (index_t pl = 0; pl < pseudo_layers(cfg_); ++pl)
      for (index_t id = 0; id < 2 * G; ++id) {
        void* m = nullptr;
        void* b = nullptr;
        RNNABS_CUDA_CHECK(cudnnGetRNNWeightParams(*dnn_, rnn_, static_cast<int32_t>(pl), w_.bytes(), w_.data(),
                                                  static_cast<int32_t>(id), md, &m, bd, &b));
        cudnn_param_address a;
        a.pseudo_layer = pl;
        a.lin_id = id;
        a.matrix_offset = (static_cast<const T*>(m) - w_.data());
        a.bias_offset = (static_cast<const T*>(b) - w_.data());
        a.matrix_rows = elements(md) / 1;
        a.matrix_cols = 1;
        const auto [rows, cols] = cudnn_matrix_shape(cfg_, G, pl, id);
        if (a.matrix_rows == rows * cols) {
          a.matrix_rows = rows;
          a.matrix_cols = cols;
        }
        a.bias_size = elements(bd);
        out.push_back(a);
      }
    return out;
  }
  static index_t elements(const tensor_descriptor& d) {
    cudnnDataType_t t;
    int nb = 0, dims[8] = {}, strides[8] = {};
    RNNABS_CUDA_CHECK(cudnnGetTensorNdDescriptor(d, 8, &t, &nb, dims, strides));
    index_t n = 1;
    for (int i = 0; i < nb; ++i) n *= dims[i];
    return n;
  }

  vector<T> gather(const device_buffer<T>& packed, const device_buffer<T>& hw, const device_buffer<T>& hb) {
    vector<T> flat = vector<T>::Zero(layout_.size());
    const std::vector<T> p = packed.to_host(stream_);
    map_.to_flat(p.data(), flat.data());
    hw.download(flat.data() + layout_[idx_.fc_weight].offset, hw.size(), stream_);
    hb.download(flat.data() + layout_[idx_.fc_bias].offset, hb.size(), stream_);
    return flat;
  }

  void forward_device() {
    require(B_ > 0, "cuda::cudnn_rnn: no batch; call set_batch first");
    RNNABS_CUDA_CHECK(cudnnRNNForward(*dnn_, rnn_, CUDNN_FWD_MODE_TRAINING, dev_lengths_.data(), xdesc_, x_.data(),
                                      ydesc_, y_out_.data(), hdesc_, nullptr, hy_.data(), hdesc_, nullptr,
                                      lstm ? cy_.data() : nullptr, w_.bytes(), w_.data(), work_.bytes(), work_.data(),
                                      reserve_.bytes(), reserve_.data()));
    const int B = static_cast<int>(B_), HD = static_cast<int>(cfg_.output_size()),
              C = static_cast<int>(cfg_.num_classes);
    const int L = static_cast<int>(cfg_.num_layers), D = static_cast<int>(cfg_.directions()),
              H = static_cast<int>(cfg_.hidden_size);
    kernels::final_states<T>
        <<<static_cast<unsigned>((B * HD + 127) / 128), 128, 0, stream_>>>(hy_.data(), feat_.data(), L, D, B, H, true);
    RNNABS_CUDA_CHECK_LAUNCH("final_states kernel");
    gemm_rm(*blas_, false, true, B, C, HD, T(1), feat_.data(), HD, head_w_.data(), HD, T(0), z_.data(), C);
    kernels::broadcast_row<T>
        <<<grid_for(static_cast<std::size_t>(B) * C), 256, 0, stream_>>>(z_.data(), B, C, head_b_.data(), true);
    RNNABS_CUDA_CHECK_LAUNCH("broadcast_row kernel");
  }

  void backward_device() {
    const int B = static_cast<int>(B_), HD = static_cast<int>(cfg_.output_size()),
              C = static_cast<int>(cfg_.num_classes);
    const int L = static_cast<int>(cfg_.num_layers), D = static_cast<int>(cfg_.directions()),
              H = static_cast<int>(cfg_.hidden_size);
    kernels::softmax_xent<T, false><<<static_cast<unsigned>((B + 127) / 128), 128, 0, stream_>>>(
        B, C, z_.data(), nullptr, y_.data(), T(1) / static_cast<T>(B), loss_.data(), dz_.data(), nullptr);
    RNNABS_CUDA_CHECK_LAUNCH("softmax_xent kernel");
    gemm_rm(*blas_, true, false, C, HD, B, T(1), dz_.data(), C, feat_.data(), HD, T(0), dhead_w_.data(), HD);
    column_sums<T>(dz_.data(), B, C, C, T(0), dhead_b_.data(), stream_);
    gemm_rm(*blas_, false, false, B, HD, C, T(1), dz_.data(), C, head_w_.data(), HD, T(0), dfeat_.data(), HD);
    dhy_.zero(stream_);
    dcy_.zero(stream_);
    dy_.zero(stream_);
    kernels::final_states<T><<<static_cast<unsigned>((B * HD + 127) / 128), 128, 0, stream_>>>(
        dhy_.data(), dfeat_.data(), L, D, B, H, false);
    RNNABS_CUDA_CHECK_LAUNCH("final_states kernel");
    RNNABS_CUDA_CHECK(cudnnRNNBackwardData_v8(
        *dnn_, rnn_, dev_lengths_.data(), ydesc_, y_out_.data(), dy_.data(), xdesc_, dx_.data(), hdesc_, nullptr,
        dhy_.data(), dhx_.data(), hdesc_, nullptr, lstm ? dcy_.data() : nullptr, lstm ? dcx_.data() : nullptr,
        w_.bytes(), w_.data(), work_.bytes(), work_.data(), reserve_.bytes(), reserve_.data()));
    dw_.zero(stream_);
    RNNABS_CUDA_CHECK(cudnnRNNBackwardWeights_v8(
        *dnn_, rnn_, CUDNN_WGRAD_MODE_ADD, dev_lengths_.data(), xdesc_, x_.data(), hdesc_, nullptr, ydesc_,
        y_out_.data(), dw_.bytes(), dw_.data(), work_.bytes(), work_.data(), reserve_.bytes(), reserve_.data()));
  }

  rnn_config cfg_;
  bool tf32_;
  parameter_layout layout_;
  rnn_parameter_index idx_;
  cuda::stream stream_;
  std::unique_ptr<cudnn_handle> dnn_;
  std::unique_ptr<cublas_handle> blas_;
  rnn_descriptor rnn_;
  dropout_descriptor dropout_;
  rnn_data_descriptor xdesc_, ydesc_;
  tensor_descriptor hdesc_;
  device_buffer<unsigned char> dropout_states_, work_, reserve_;
  device_buffer<T> w_, dw_, head_w_, head_b_, dhead_w_, dhead_b_;
  std::vector<cudnn_param_address> addresses_;
  cudnn_weight_map map_;
  index_t B_ = 0, Tmax_ = 0;
  std::vector<int> lengths_;
  device_buffer<int> dev_lengths_, y_;
  device_buffer<T> x_, dx_, y_out_, dy_, hy_, cy_, dhy_, dcy_, dhx_, dcx_, feat_, dfeat_, z_, dz_;
  device_buffer<double> loss_;
};

}  // namespace rnnabs::cuda
