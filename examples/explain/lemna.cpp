// explain lemna — LEMNA on a function-start detector (spec §1): a bidirectional ReLU RNN
// with byte embeddings and a per-byte head, trained on machine code whose function starts come from ELF
// symbol tables; LEMNA explanations of detected starts with the three fidelity tests against a random
// baseline; then explanation-guided patching with false positives / negatives counted on held-out data.
//
// Data (the offline stand-in for LEMNA's x86-32 gcc -O1 corpus): the x86-64 objects of a static archive
// (default /usr/lib/x86_64-linux-gnu/libc.a, Debian libc6-dev), executable sections cut into 200-byte
// chunks, tokens byte + 1 (0 = nullified). Split by object (data/function_starts.hpp): train / test; the
// test objects are split again by a salted hash into "patch source" (errors explained and crafted into
// patches) and "held-out" (FP/FN measured before and after patching) — the released code crafted from and
// scored on the same test set.
//
//   explain lemna                    defaults run in a few minutes
//   explain lemna --epochs 20 --explain 500 --components 6
//
// Writes <out>/{training.csv, fidelity.csv, patching.csv, explanations.csv, summary.txt}.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>

#include <rnnabs/data/function_starts.hpp>
#include <rnnabs/explain/fidelity.hpp>
#include <rnnabs/explain/lemna.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/train.hpp>

#include "../common/results.hpp"

namespace examples::explain_lemna {

using namespace rnnabs;
using model_t = rnn_classifier<rnn_relu_cell, float>;

sequence_batch<float> to_batch(const std::vector<data::byte_chunk>& chunks) {
  auto t = data::to_tokens(chunks);
  sequence_batch<float> b;
  b.tokens = std::move(t.tokens);
  b.step_labels = std::move(t.labels);
  return b;
}

/// Per-byte confusion counts (spec §1.1 perf_measure; FN_true leaves out starts at t <= 10 or byte 0xFF).
struct confusion {
  index_t tp = 0, fp = 0, fn = 0, tn = 0, fn_true = 0;
  double precision() const { return static_cast<double>(tp) / static_cast<double>(std::max<index_t>(tp + fp, 1)); }
  double recall() const { return static_cast<double>(tp) / static_cast<double>(std::max<index_t>(tp + fn, 1)); }
  double f1() const { return 2 * precision() * recall() / std::max(precision() + recall(), 1e-12); }
};

confusion evaluate_bytes(const model_t& m, const sequence_batch<float>& b) {
  const auto out = m.forward(b);
  confusion c;
  for (index_t i = 0; i < b.size(); ++i) {
    const auto& y = b.step_labels[static_cast<std::size_t>(i)];
    const auto& p = out.step_predictions[static_cast<std::size_t>(i)];
    for (index_t t = 0; t < y.size(); ++t) {
      const bool yt = y(t) == 1, pt = p(t) == 1;
      c.tp += yt && pt, c.fp += !yt && pt, c.tn += !yt && !pt;
      if (yt && !pt) {
        ++c.fn;
        if (t > 10 && b.tokens[static_cast<std::size_t>(i)](t) != 256) ++c.fn_true;
      }
    }
  }
  return c;
}

/// The black box of an explanation: probability of class `cls` at each sequence's target step.
struct step_scorer {
  const model_t* m;
  index_t cls;
  vector<double> operator()(const token_batch& b, const index_vector& targets) const {
    sequence_batch<float> s;
    s.tokens = b;
    const auto out = m->forward(s);
    vector<double> r(static_cast<index_t>(b.size()));
    for (index_t i = 0; i < r.size(); ++i)
      r(i) = static_cast<double>(out.step_probabilities[static_cast<std::size_t>(i)](targets(i), cls));
    return r;
  }
};

int run(int argc, char** argv) {
  CLI::App app{"LEMNA explaining a bidirectional-RNN function-start detector, fidelity tests and patching"};
  std::string archive = "/usr/lib/x86_64-linux-gnu/libc.a", out = "results/explain_lemna";
  index_t max_chunks = 4000, chunk = 200, embed = 16, hidden = 8, epochs = 30, batch = 100, n_explain = 200;
  index_t components = 3, half_width = 20, samples = 500, n_features = 5, max_patch = 150, patch_epochs = 3;
  double test_fraction = 0.25, lr = 1e-2;
  std::uint64_t seed = 1234;
  app.add_option("--archive", archive, "static archive of ELF objects (Debian libc6-dev: libc.a)");
  app.add_option("--out", out, "results folder");
  app.add_option("--max-chunks", max_chunks, "chunks read from the archive (in archive order)");
  app.add_option("--chunk", chunk, "bytes per sequence (LEMNA: 200)");
  app.add_option("--test-fraction", test_fraction, "share of objects in the test split");
  app.add_option("--embed", embed, "embedding dimension (LEMNA: 16)");
  app.add_option("--hidden", hidden, "hidden units per direction (LEMNA: 8)");
  app.add_option("--epochs", epochs, "training epochs (LEMNA: 150)");
  app.add_option("--batch", batch, "batch size (LEMNA: 100)");
  app.add_option("--lr", lr, "Adam learning rate");
  app.add_option("--explain", n_explain, "detected starts of the test split to explain");
  app.add_option("--components", components, "K of the LEMNA mixture (paper: 6; 1 = the released code)");
  app.add_option("--half-width", half_width, "window half width h (window 2h+1; LEMNA: 20)");
  app.add_option("--samples", samples, "perturbed samples per explanation (LEMNA: 500)");
  app.add_option("--n-features", n_features, "features kept/removed by the fidelity tests");
  app.add_option("--max-patch", max_patch, "errors of each kind explained for patching");
  app.add_option("--patch-epochs", patch_epochs, "fine-tuning epochs (released: 10)");
  app.add_option("--seed", seed, "seed of the model, the sampler and the baselines");
  CLI11_PARSE(app, argc, argv);
  const auto t0 = std::chrono::steady_clock::now();
  const examples::fs::path dir(out);
  examples::fs::create_directories(dir);
  const auto corpus = data::function_starts_from_archive(archive, {.chunk_length = chunk, .max_chunks = max_chunks});
  const auto split = data::split_by_object(corpus, test_fraction);
  std::vector<data::byte_chunk> patch_src, held;
  for (const auto& c : split.test) (data::fnv1a64(c.object + "#patch") % 2 == 0 ? patch_src : held).push_back(c);
  const auto train_b = to_batch(split.train), patch_b = to_batch(patch_src), held_b = to_batch(held),
             test_b = to_batch(split.test);
  std::printf("corpus     %s: %ld objects, %zu chunks of <= %ld bytes, %ld function starts; split by object: "
              "train %zu, test %zu (patch source %zu, held-out %zu)\n",
              archive.c_str(), static_cast<long>(corpus.objects), corpus.chunks.size(), static_cast<long>(chunk),
              static_cast<long>(corpus.functions), split.train.size(), split.test.size(), patch_src.size(),
              held.size());
  require(!split.train.empty() && !patch_src.empty() && !held.empty(), "the split left a side empty; use more chunks");

  model_t model({.input_size = embed, .vocab_size = 257, .hidden_size = hidden, .bidirectional = true,
                 .num_classes = 2, .head = head_mode::every_step},
                seed);
  train_options to{.epochs = epochs, .batch_size = batch, .seed = seed, .clip_norm = 5};
  to.validation = &test_b;
  const auto hist = train(model, train_b, adam{.lr = lr}, to);
  examples::csv_table th({"epoch", "train_loss", "train_accuracy", "val_accuracy", "seconds"});
  for (const auto& e : hist.epochs) th.add(e.epoch + 1, e.train_loss, e.train_accuracy, e.val_accuracy, e.seconds);
  th.save(dir / "training.csv");
  const confusion ct = evaluate_bytes(model, test_b);
  std::printf("model      BiRNN(ReLU, emb %ld, %ld x 2), %ld epochs: test precision %.4f recall %.4f F1 %.4f "
              "(TP %ld FP %ld FN %ld)\n",
              static_cast<long>(embed), static_cast<long>(hidden), static_cast<long>(epochs), ct.precision(),
              ct.recall(), ct.f1(), static_cast<long>(ct.tp), static_cast<long>(ct.fp), static_cast<long>(ct.fn));

  // Explain detected starts (probability > 0.5 at the start itself).
  const lemna ex({.mixture = {.n_components = components}, .n_samples = samples, .half_width = half_width,
                  .seed = seed});
  const step_scorer start_box{&model, 1};
  const auto out_test = model.forward(test_b);
  std::vector<sequence_case> cases;
  examples::csv_table et({"chunk", "target", "start_byte", "component", "top5_offsets"});
  examples::progress prog("explaining", static_cast<long>(n_explain));
  for (index_t i = 0; i < test_b.size() && static_cast<index_t>(cases.size()) < n_explain; ++i) {
    const auto& seq = test_b.tokens[static_cast<std::size_t>(i)];
    const auto& lab = test_b.step_labels[static_cast<std::size_t>(i)];
    for (index_t t = 0; t < seq.size() && static_cast<index_t>(cases.size()) < n_explain; ++t) {
      if (lab(t) != 1 || out_test.step_probabilities[static_cast<std::size_t>(i)](t, 1) <= 0.5f) continue;
      const auto e = ex.explain_sequence(at_position(start_box, t), seq, t);
      cases.push_back({seq, t, e.top_positions(std::max<index_t>(n_features, 25))});
      std::string offs;
      const index_vector top = e.top_positions(5);
      for (index_t k = 0; k < top.size(); ++k) offs += (k ? " " : "") + std::to_string(top(k) - t);
      et.add(i, t, seq(t) - 1, e.component, offs);
      if (cases.size() % 20 == 0) prog.update(static_cast<long>(cases.size()));
    }
  }
  et.save(dir / "explanations.csv");
  require(!cases.empty(), "no detected function start to explain (train longer?)");
  // Augmentation seed: the full-length test chunk the model is least inclined to call a start anywhere (the
  // released code used the first test sequence, whatever its predictions).
  index_t seed_chunk = 0;
  float seed_max = 2;
  for (index_t i = 0; i < test_b.size(); ++i) {
    const auto& sp = out_test.step_probabilities[static_cast<std::size_t>(i)];
    const float mx = sp.col(1).maxCoeff();
    if (test_b.tokens[static_cast<std::size_t>(i)].size() == chunk && mx < seed_max) seed_max = mx, seed_chunk = i;
  }
  const auto fid = sequence_fidelity(start_box, cases, test_b.tokens[static_cast<std::size_t>(seed_chunk)],
                                     {.n_features = n_features, .seed = seed});
  examples::csv_table ft({"test", "lemna", "random", "cases", "n_features"});
  std::printf("\nfidelity   PCR over %zu explained starts, %ld features (window %ld cells, K = %ld)\n", cases.size(),
              static_cast<long>(n_features), static_cast<long>(2 * half_width + 1), static_cast<long>(components));
  std::printf("  %-13s %8s %8s   desired\n", "test", "LEMNA", "random");
  const std::pair<const char*, const fidelity_score*> rows[] = {
      {"deduction", &fid.deduction}, {"augmentation", &fid.augmentation}, {"synthetic", &fid.synthetic}};
  const char* want[] = {"low", "high", "high"};
  for (int r = 0; r < 3; ++r) {
    std::printf("  %-13s %8.3f %8.3f   %s\n", rows[r].first, rows[r].second->explainer, rows[r].second->random,
                want[r]);
    ft.add(rows[r].first, rows[r].second->explainer, rows[r].second->random, rows[r].second->cases, n_features);
  }
  ft.save(dir / "fidelity.csv");

  // Patching (spec §1.6) from the errors of the patch-source split.
  const confusion before_held = evaluate_bytes(model, held_b), before_src = evaluate_bytes(model, patch_b);
  const auto out_src = model.forward(patch_b);
  sequence_batch<float> crafted = train_b;
  const lemna exp20({.mixture = {.n_components = components}, .n_samples = samples, .half_width = 10, .seed = seed});
  const step_scorer not_start{&model, 0};
  index_t n_fn = 0, n_fp = 0;
  for (index_t i = 0; i < patch_b.size(); ++i) {
    const auto& seq = patch_b.tokens[static_cast<std::size_t>(i)];
    const auto& lab = patch_b.step_labels[static_cast<std::size_t>(i)];
    const auto& pred = out_src.step_predictions[static_cast<std::size_t>(i)];
    for (index_t t = 0; t < seq.size(); ++t) {
      const bool fn = lab(t) == 1 && pred(t) == 0 && t > 10 && seq(t) != 256 && n_fn < max_patch;
      const bool fp = lab(t) == 0 && pred(t) == 1 && n_fp < max_patch;
      if (!fn && !fp) continue;
      const auto e = exp20.explain_sequence(at_position(fn ? not_start : start_box, t), seq, t);
      const auto s = craft_patch(seq, lab, t, e.top_positions(2), fn ? 1 : 0, lab(t));
      for (int k = 0; k < (fn ? 3 : 4); ++k) {
        crafted.tokens.push_back(s.sequence);
        crafted.step_labels.push_back(s.labels);
      }
      (fn ? n_fn : n_fp) += 1;
    }
  }
  train_options tp{.epochs = patch_epochs, .batch_size = batch, .seed = seed + 1, .clip_norm = 5};
  train(model, crafted, adam{.lr = lr / 3}, tp);
  const confusion after_held = evaluate_bytes(model, held_b), after_src = evaluate_bytes(model, patch_b);
  std::printf("\npatching   %ld FN and %ld FP of the patch-source split explained, crafted x3 / x4, fine-tuned %ld "
              "epochs\n",
              static_cast<long>(n_fn), static_cast<long>(n_fp), static_cast<long>(patch_epochs));
  std::printf("  %-22s %8s %8s %8s %8s %8s\n", "split", "FP", "FN", "FN_true", "prec", "recall");
  examples::csv_table pt({"split", "stage", "fp", "fn", "fn_true", "precision", "recall", "f1"});
  const std::tuple<const char*, const char*, const confusion*> prow[] = {
      {"held-out", "before", &before_held}, {"held-out", "after", &after_held},
      {"patch-source", "before", &before_src}, {"patch-source", "after", &after_src}};
  for (const auto& [split_name, stage, c] : prow) {
    std::printf("  %-13s %-8s %8ld %8ld %8ld %8.4f %8.4f\n", split_name, stage, static_cast<long>(c->fp),
                static_cast<long>(c->fn), static_cast<long>(c->fn_true), c->precision(), c->recall());
    pt.add(split_name, stage, c->fp, c->fn, c->fn_true, c->precision(), c->recall(), c->f1());
  }
  pt.save(dir / "patching.csv");
  rnnabs::io::atomic_write_bytes(
      dir / "summary.txt",
      detail::concat("test precision ", ct.precision(), " recall ", ct.recall(), " f1 ", ct.f1(), "\ndeduction ",
                     fid.deduction.explainer, " random ", fid.deduction.random, "\naugmentation ",
                     fid.augmentation.explainer, " random ", fid.augmentation.random, "\nsynthetic ",
                     fid.synthetic.explainer, " random ", fid.synthetic.random, "\nheld-out FP ", before_held.fp,
                     " -> ", after_held.fp, " FN ", before_held.fn, " -> ", after_held.fn, "\n"));
  std::printf("\nresults in %s (%.1f s)\n", out.c_str(), examples::seconds_since(t0));
  return 0;
}

}  // namespace examples::explain_lemna
