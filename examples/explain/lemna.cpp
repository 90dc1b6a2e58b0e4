// explain lemna — LEMNA (Guo et al., CCS 2018) on a function-start detector at the source's scale: a bidirectional RNN
// with byte embeddings and a per-byte head, trained on the machine code of several C libraries whose
// function starts come from ELF symbol tables; LEMNA explanations of detected starts with the three
// fidelity tests against a random baseline; then explanation-guided patching judged on held-out code.
//
// Data (the offline stand-in for LEMNA's x86-32 gcc -O1 corpus): the x86-64 objects of Debian 12's static
// C libraries (libc, sqlite3, libxml2, libgcrypt, libcrypto: release builds, -O2 by Debian's default
// flags), executable sections cut into 200-byte chunks, tokens byte + 1 (0 = nullified). Split by object:
// train / test; the test objects are split again by a salted hash into "patch source" (errors explained
// and crafted into patches) and "held-out" (never used for crafting; where patching is judged) — the
// released code crafted from and scored on the same test set.
//
// Patching, per seed: the patch-source errors explained by LEMNA (sampler seeded), two crafted samples per
// error as in the released code, fine-tuning (shuffles seeded); with two controls on the same seed — the
// same number of samples crafted from two random window positions instead of the explanation's top two,
// and fine-tuning on the training set alone. Side effects: held-out bytes right before and wrong after.
//
// Writes <out>/{corpus.csv, training.csv, fidelity.csv, patching_runs.csv, patching.csv, explanations.csv,
// summary.txt}; the trained model is cached in <out>/ under a name that spells out its setting, with the
// record of every setting and of the training bytes' fingerprint beside it (<model>.params,
// ../common/cache.hpp): a model made otherwise is retrained, never reused.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include <rnnabs/data/function_starts.hpp>
#include <rnnabs/explain/fidelity.hpp>
#include <rnnabs/explain/lemna.hpp>
#include <rnnabs/nn.hpp>
#include <rnnabs/nn/train.hpp>

#include "../common/cache.hpp"
#include "../common/results.hpp"
#include "../common/text.hpp"

namespace examples::explain_lemna {

using namespace rnnabs;

sequence_batch<float> to_batch(const std::vector<data::byte_chunk>& chunks) {
  auto t = data::to_tokens(chunks);
  sequence_batch<float> b;
  b.tokens = std::move(t.tokens);
  b.step_labels = std::move(t.labels);
  return b;
}

/// Per-byte confusion counts (as LEMNA's released perf_measure; FN_true leaves out starts at t <= 10 or byte 0xFF),
/// and against an earlier prediction: bytes fixed (wrong before, right now) and broken (right before, wrong now).
struct confusion {
  index_t tp = 0, fp = 0, fn = 0, tn = 0, fn_true = 0, fixed = 0, broken = 0;
  double precision() const { return static_cast<double>(tp) / static_cast<double>(std::max<index_t>(tp + fp, 1)); }
  double recall() const { return static_cast<double>(tp) / static_cast<double>(std::max<index_t>(tp + fn, 1)); }
  double f1() const { return 2 * precision() * recall() / std::max(precision() + recall(), 1e-12); }
};

using byte_predictions = std::vector<index_vector>;

confusion count(const sequence_batch<float>& b, const byte_predictions& p, const byte_predictions* before = nullptr) {
  confusion c;
  for (std::size_t i = 0; i < b.step_labels.size(); ++i) {
    const auto& y = b.step_labels[i];
    for (index_t t = 0; t < y.size(); ++t) {
      const bool yt = y(t) == 1, pt = p[i](t) == 1;
      c.tp += yt && pt, c.fp += !yt && pt, c.tn += !yt && !pt;
      if (yt && !pt) {
        ++c.fn;
        if (t > 10 && b.tokens[i](t) != 256) ++c.fn_true;
      }
      if (before) {
        const bool was = (*before)[i](t) == y(t), now = p[i](t) == y(t);
        c.fixed += !was && now, c.broken += was && !now;
      }
    }
  }
  return c;
}

template <class Model>
byte_predictions predict_bytes(const Model& m, const sequence_batch<float>& b) {
  return m.forward(b).step_predictions;
}

/// The black box of an explanation: probability of class `cls` at each sequence's target step.
template <class Model>
struct step_scorer {
  const Model* m;
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

struct options {
  std::vector<std::string> archives;
  std::string out = "results/explain_lemna", cell = "gru";
  index_t max_chunks = -1, chunk = 200, embed = 32, hidden = 64, layers = 1, epochs = 12, batch = 100, n_explain = 100;
  index_t components = 3, half_width = 20, samples = 500, n_features = 5, max_patch = 100, patch_epochs = 2;
  index_t patch_seeds = 3, patch_half_width = 10;
  double test_fraction = 0.25, train_fraction = 1, lr = 3e-3, lr_decay = 1, dropout = 0, patch_lr = 1e-3;
  std::uint64_t seed = 1234;
  bool no_cache = false, model_only = false;
};

/// One error of the patch-source split to patch: chunk i, byte t, a false negative or a false positive.
struct patch_error {
  index_t chunk = 0, t = 0;
  bool fn = false;
};

template <class Cell>
int study(const options& o) {
  using model_t = rnn_classifier<Cell, float>;
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path dir(o.out);
  fs::create_directories(dir);

  // --- corpus ------------------------------------------------------------------------------------------
  std::vector<data::archive_source> sources;
  const auto defaults = data::default_function_start_archives();
  for (const auto& a : o.archives) {
    std::string package = "a package that installs it";
    for (const auto& d : defaults)
      if (d.path == fs::path(a)) package = d.package;
    sources.push_back({a, package});
  }
  const auto ac = data::function_starts_from_archives(sources, {.chunk_length = o.chunk, .max_chunks = o.max_chunks});
  csv_table corpus_csv({"archive", "package", "objects", "chunks", "function_starts", "train_chunks", "test_chunks"});
  auto split = data::split_by_object(ac.corpus, o.test_fraction);
  if (o.train_fraction < 1) {  // a learning curve: a hash-chosen share of the training objects
    const auto cut = static_cast<std::uint64_t>(o.train_fraction * 1000.0 + 0.5);
    std::erase_if(split.train,
                  [&](const data::byte_chunk& c) { return data::fnv1a64(c.object + "#train") % 1000 >= cut; });
  }
  std::string corpus_lines;
  for (const auto& p : ac.read) {
    const std::string name = p.source.path.filename().string();
    const auto in = [&](const std::vector<data::byte_chunk>& v) {
      return std::count_if(v.begin(), v.end(),
                           [&](const data::byte_chunk& c) { return c.object.rfind(name + "(", 0) == 0; });
    };
    corpus_csv.add(csv_text(p.source.path.string()), p.source.package, p.objects, p.chunks, p.functions,
                   in(split.train), in(split.test));
    corpus_lines += examples::concat("  ", name, ": ", p.objects, " objects, ", p.chunks, " chunks, ", p.functions,
                                     " function starts (train ", in(split.train), " / test ", in(split.test),
                                     " chunks)\n");
  }
  for (const auto& m : ac.missing) {
    std::fprintf(stderr, "note: %s not found (apt-get install %s): skipped\n", m.path.c_str(), m.package.c_str());
    corpus_lines += examples::concat("  ", m.path.string(), ": missing (", m.package, "), skipped\n");
  }
  corpus_csv.save(dir / "corpus.csv");
  std::vector<data::byte_chunk> patch_src, held;
  for (const auto& c : split.test) (data::fnv1a64(c.object + "#patch") % 2 == 0 ? patch_src : held).push_back(c);
  const auto train_b = to_batch(split.train), patch_b = to_batch(patch_src), held_b = to_batch(held),
             test_b = to_batch(split.test);
  std::printf("corpus     %ld objects, %zu chunks of <= %ld bytes, %ld function starts; by object: train %zu, test %zu "
              "(patch source %zu, held-out %zu)\n%s",
              ac.corpus.objects, ac.corpus.chunks.size(), o.chunk, ac.corpus.functions, split.train.size(),
              split.test.size(), patch_src.size(), held.size(), corpus_lines.c_str());
  require(!split.train.empty() && !patch_src.empty() && !held.empty(), "the split left a side empty; use more chunks");

  // --- the target model (cached) -----------------------------------------------------------------------------
  rnn_config cfg{.input_size = o.embed,
                 .vocab_size = 257,
                 .hidden_size = o.hidden,
                 .bidirectional = true,
                 .num_classes = 2,
                 .head = head_mode::every_step,
                 .dropout = o.dropout};
  cfg.num_layers = o.layers;
  const fs::path cache = dir / examples::concat("model_", o.cell, "_emb", o.embed, "_h", o.hidden, "_l", o.layers,
                                                "_ep", o.epochs, "_lr", o.lr, "_decay", o.lr_decay, "_drop", o.dropout,
                                                "_b", o.batch, "_s", o.seed, "_train", train_b.size(), "x", o.chunk,
                                                ".rnnabs");
  model_t model(cfg, o.seed);
  double train_s = 0;
  csv_table th({"epoch", "learning_rate", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"});
  cache_record made_from("bidirectional RNN function-start detector (explain lemna)");
  made_from.add("cell", o.cell)
      .add("vocab", cfg.vocab_size)
      .add("embed", o.embed)
      .add("hidden", o.hidden)
      .add("layers", o.layers)
      .add("bidirectional", cfg.bidirectional)
      .add("classes", cfg.num_classes)
      .add("dropout", o.dropout)
      .add("epochs", o.epochs)
      .add("batch", o.batch)
      .add("optimizer", "adam")
      .add("lr", o.lr)
      .add("lr_decay", o.lr_decay)
      .add("clip", 5)
      .add("seed", o.seed)
      .add("chunk", o.chunk)
      .add("data.train", fingerprint_of(train_b));
  if (!o.no_cache && cache_lookup(cache, made_from)) {
    model = model_t::load(cache);
    std::printf("model      loaded %s\n", cache.c_str());
  } else {
    train_options to{.epochs = o.epochs, .batch_size = o.batch, .seed = o.seed, .clip_norm = 5};
    to.lr_schedule = [d = o.lr_decay](long e) { return std::pow(d, static_cast<double>(e)); };
    to.validation = &test_b;
    to.on_epoch = [&](const epoch_record& r) {
      th.add(r.epoch + 1, r.learning_rate, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.seconds);
      std::fprintf(stderr, "epoch %ld/%ld  loss %.4f  test byte accuracy %.5f  %.1fs\n", r.epoch + 1, o.epochs,
                   r.train_loss, r.val_accuracy, r.seconds);
      return true;
    };
    const auto ts = std::chrono::steady_clock::now();
    cache_store(cache, made_from, [&](const fs::path& p) {
      train(model, train_b, adam{.lr = o.lr}, to);
      train_s = seconds_since(ts);
      th.save(dir / "training.csv");
      model.save(p);
    });
  }
  const auto test_pred = predict_bytes(model, test_b);
  const confusion ct = count(test_b, test_pred);
  const std::string model_line = examples::concat(
      "BiRNN(", o.cell, ", embedding ", o.embed, ", ", o.layers, " layer(s) of ", o.hidden, " x 2), ", o.epochs,
      " epochs (Adam ", o.lr, " x ", o.lr_decay, "^epoch, dropout ", o.dropout, ", batch ", o.batch, ")",
      train_s > 0 ? examples::concat(", trained in ", train_s, " s") : std::string(" (cached)"), ": test precision ",
      ct.precision(), " recall ", ct.recall(), " F1 ", ct.f1(), " (TP ", ct.tp, " FP ", ct.fp, " FN ", ct.fn, ")");
  std::printf("model      %s\n", model_line.c_str());
  std::fflush(stdout);
  {  // where the errors are: within 10 bytes of a chunk edge (cut context) or inside
    confusion inner, edge;
    for (std::size_t i = 0; i < test_b.step_labels.size(); ++i) {
      const auto& y = test_b.step_labels[i];
      for (index_t t = 0; t < y.size(); ++t) {
        confusion& c = t >= 10 && t < y.size() - 10 ? inner : edge;
        const bool yt = y(t) == 1, pt = test_pred[i](t) == 1;
        c.tp += yt && pt, c.fp += !yt && pt, c.fn += yt && !pt;
      }
    }
    std::printf(
        "           bytes >= 10 from a chunk edge: F1 %.4f (FP %ld FN %ld); within 10 bytes: F1 %.4f (FP %ld FN %ld)\n",
        inner.f1(), inner.fp, inner.fn, edge.f1(), edge.fp, edge.fn);
  }
  if (o.model_only) return 0;

  // --- explanations and fidelity -----------------------------------------------------------------------------
  const lemna ex(
      {.mixture = {.n_components = o.components}, .n_samples = o.samples, .half_width = o.half_width, .seed = o.seed});
  const step_scorer<model_t> start_box{&model, 1}, not_start{&model, 0};
  const auto out_test = model.forward(test_b);
  std::vector<sequence_case> cases;
  csv_table et({"chunk", "target", "start_byte", "component", "top5_offsets"});
  examples::progress prog("explaining", static_cast<long>(o.n_explain));
  // Detected starts spread over the test set: every k-th chunk first, so that every library is explained.
  const index_t stride = std::max<index_t>(1, test_b.size() / std::max<index_t>(1, o.n_explain));
  for (index_t pass = 0; pass < stride && static_cast<index_t>(cases.size()) < o.n_explain; ++pass)
    for (index_t i = pass; i < test_b.size() && static_cast<index_t>(cases.size()) < o.n_explain; i += stride) {
      const auto& seq = test_b.tokens[static_cast<std::size_t>(i)];
      const auto& lab = test_b.step_labels[static_cast<std::size_t>(i)];
      for (index_t t = 0; t < seq.size(); ++t) {
        if (lab(t) != 1 || out_test.step_probabilities[static_cast<std::size_t>(i)](t, 1) <= 0.5f) continue;
        const auto e = ex.explain_sequence(at_position(start_box, t), seq, t);
        cases.push_back({seq, t, e.top_positions(std::max<index_t>(o.n_features, 25))});
        std::string offs;
        const index_vector top = e.top_positions(5);
        for (index_t k = 0; k < top.size(); ++k) {
          if (k) offs += ' ';
          offs += std::to_string(top(k) - t);
        }
        et.add(i, t, seq(t) - 1, e.component, offs);
        prog.update(static_cast<long>(cases.size()));
        break;  // one start per chunk
      }
    }
  et.save(dir / "explanations.csv");
  require(!cases.empty(), "no detected function start to explain (train longer?)");
  // Augmentation seed: the full-length test chunk the model is least inclined to call a start anywhere.
  index_t seed_chunk = 0;
  float seed_max = 2;
  for (index_t i = 0; i < test_b.size(); ++i) {
    const float mx = out_test.step_probabilities[static_cast<std::size_t>(i)].col(1).maxCoeff();
    if (test_b.tokens[static_cast<std::size_t>(i)].size() == o.chunk && mx < seed_max) seed_max = mx, seed_chunk = i;
  }
  const auto fid = sequence_fidelity(start_box, cases, test_b.tokens[static_cast<std::size_t>(seed_chunk)],
                                     {.n_features = o.n_features, .seed = o.seed});
  csv_table ft({"test", "lemna", "random", "cases", "n_features"});
  std::string fid_table = "test | LEMNA | random | desired\n";
  const std::pair<const char*, const fidelity_score*> rows[] = {
      {"deduction", &fid.deduction}, {"augmentation", &fid.augmentation}, {"synthetic", &fid.synthetic}};
  const char* want[] = {"low", "high", "high"};
  for (int r = 0; r < 3; ++r) {
    fid_table += examples::concat(rows[r].first, " | ", rows[r].second->explainer, " | ", rows[r].second->random, " | ",
                                  want[r], "\n");
    ft.add(rows[r].first, rows[r].second->explainer, rows[r].second->random, rows[r].second->cases, o.n_features);
  }
  ft.save(dir / "fidelity.csv");
  std::printf("\nfidelity   PCR over %zu explained starts, %ld features (window %ld cells, K = %ld)\n%s", cases.size(),
              o.n_features, 2 * o.half_width + 1, o.components, fid_table.c_str());
  std::fflush(stdout);

  // --- patching, judged on the held-out split ----------------------------------------------------------------
  const auto held_before = predict_bytes(model, held_b), src_before = predict_bytes(model, patch_b);
  const confusion held0 = count(held_b, held_before), src0 = count(patch_b, src_before);
  std::vector<patch_error> errors;
  index_t n_fn = 0, n_fp = 0;
  for (index_t i = 0; i < patch_b.size(); ++i) {
    const auto& seq = patch_b.tokens[static_cast<std::size_t>(i)];
    const auto& lab = patch_b.step_labels[static_cast<std::size_t>(i)];
    const auto& pred = src_before[static_cast<std::size_t>(i)];
    for (index_t t = 0; t < seq.size(); ++t) {
      const bool fn = lab(t) == 1 && pred(t) == 0 && t > 10 && seq(t) != 256 && n_fn < o.max_patch;
      const bool fp = lab(t) == 0 && pred(t) == 1 && n_fp < o.max_patch;
      if (!fn && !fp) continue;
      errors.push_back({i, t, fn});
      (fn ? n_fn : n_fp) += 1;
    }
  }
  require(!errors.empty(), "the model makes no error on the patch-source split: nothing to patch");
  const std::vector<std::string> arms{"lemna", "random", "none"};
  csv_table runs({"arm", "seed", "crafted", "split", "fp", "fn", "fn_true", "precision", "recall", "f1", "fixed",
                  "broken", "seconds"});
  // [arm][split 0 held-out, 1 patch source] -> fp, fn, precision, recall, f1, fixed, broken over seeds
  std::vector<std::array<std::array<spread, 7>, 2>> agg(arms.size());
  examples::progress pbar("patching", static_cast<long>(o.patch_seeds * static_cast<index_t>(arms.size())));
  long pdone = 0;
  for (index_t rep = 0; rep < o.patch_seeds; ++rep) {
    const std::uint64_t s = o.seed + 1 + static_cast<std::uint64_t>(rep);
    const lemna pex({.mixture = {.n_components = o.components},
                     .n_samples = o.samples,
                     .half_width = o.patch_half_width,
                     .seed = s});
    sequence_batch<float> by_lemna, by_random;
    for (std::size_t k = 0; k < errors.size(); ++k) {
      const auto& er = errors[k];
      const auto& seq = patch_b.tokens[static_cast<std::size_t>(er.chunk)];
      const auto& lab = patch_b.step_labels[static_cast<std::size_t>(er.chunk)];
      const index_t value = er.fn ? 1 : 0;  // the released code: FN positions <- byte 0x00, FP <- nullified
      const auto e = pex.explain_sequence(at_position(er.fn ? not_start : start_box, er.t), seq, er.t);
      const auto a = craft_patch(seq, lab, er.t, e.top_positions(2), value, lab(er.t));
      // Control: two distinct random positions of the same window.
      rng g = rng::stream(s, k);
      const index_t lo = std::max<index_t>(0, er.t - o.patch_half_width),
                    hi = std::min(seq.size() - 1, er.t + o.patch_half_width);
      index_vector pos(2);
      pos(0) = lo + static_cast<index_t>(g.below(static_cast<std::uint64_t>(hi - lo + 1)));
      do pos(1) = lo + static_cast<index_t>(g.below(static_cast<std::uint64_t>(hi - lo + 1)));
      while (pos(1) == pos(0) && hi > lo);
      const auto b = craft_patch(seq, lab, er.t, pos, value, lab(er.t));
      for (int c = 0; c < (er.fn ? 3 : 4); ++c) {  // the released copies: 3 per FN, 4 per FP
        by_lemna.tokens.push_back(a.sequence);
        by_lemna.step_labels.push_back(a.labels);
        by_random.tokens.push_back(b.sequence);
        by_random.step_labels.push_back(b.labels);
      }
    }
    for (std::size_t a = 0; a < arms.size(); ++a) {
      sequence_batch<float> data = train_b;
      const auto& add = a == 0 ? by_lemna : by_random;
      if (a < 2) {
        data.tokens.insert(data.tokens.end(), add.tokens.begin(), add.tokens.end());
        data.step_labels.insert(data.step_labels.end(), add.step_labels.begin(), add.step_labels.end());
      }
      model_t patched = model;
      train_options tp{.epochs = o.patch_epochs, .batch_size = o.batch, .seed = s, .clip_norm = 5};
      tp.progress = false;
      const auto ts = std::chrono::steady_clock::now();
      train(patched, data, adam{.lr = o.patch_lr}, tp);
      const double sec = seconds_since(ts);
      const confusion ch = count(held_b, predict_bytes(patched, held_b), &held_before);
      const confusion cs = count(patch_b, predict_bytes(patched, patch_b), &src_before);
      for (int sp = 0; sp < 2; ++sp) {
        const confusion& c = sp == 0 ? ch : cs;
        const double v[7] = {
            static_cast<double>(c.fp),    static_cast<double>(c.fn),    c.precision(), c.recall(), c.f1(),
            static_cast<double>(c.fixed), static_cast<double>(c.broken)};
        for (int q = 0; q < 7; ++q) agg[a][static_cast<std::size_t>(sp)][static_cast<std::size_t>(q)].add(v[q]);
        runs.add(arms[a], s, a < 2 ? static_cast<index_t>(add.size()) : 0, sp == 0 ? "held-out" : "patch-source", c.fp,
                 c.fn, c.fn_true, c.precision(), c.recall(), c.f1(), c.fixed, c.broken, sec);
      }
      pbar.update(++pdone, examples::concat(arms[a], " seed ", s, ": held-out FP ", ch.fp, " FN ", ch.fn, " broken ",
                                            ch.broken));
      runs.save(dir / "patching_runs.csv");
    }
  }
  csv_table pt({"arm", "split", "fp_mean", "fp_sd", "fn_mean", "fn_sd", "precision_mean", "recall_mean", "f1_mean",
                "f1_sd", "fixed_mean", "broken_mean", "broken_sd"});
  std::string patch_table = examples::concat(
      "arm | split | FP | FN | precision | recall | F1 | bytes fixed | bytes broken\n", "before | held-out | ",
      held0.fp, " | ", held0.fn, " | ", held0.precision(), " | ", held0.recall(), " | ", held0.f1(), " | | \n",
      "before | patch-source | ", src0.fp, " | ", src0.fn, " | ", src0.precision(), " | ", src0.recall(), " | ",
      src0.f1(), " | | \n");
  for (std::size_t a = 0; a < arms.size(); ++a)
    for (int sp = 0; sp < 2; ++sp) {
      const auto& g = agg[a][static_cast<std::size_t>(sp)];
      const char* split_name = sp == 0 ? "held-out" : "patch-source";
      pt.add(arms[a], split_name, g[0].mean(), g[0].sd(), g[1].mean(), g[1].sd(), g[2].mean(), g[3].mean(), g[4].mean(),
             g[4].sd(), g[5].mean(), g[6].mean(), g[6].sd());
      patch_table += examples::concat(arms[a], " | ", split_name, " | ", g[0].text(1), " | ", g[1].text(1), " | ",
                                      g[2].text(4), " | ", g[3].text(4), " | ", g[4].text(4), " | ", g[5].text(1),
                                      " | ", g[6].text(1), "\n");
    }
  pt.save(dir / "patching.csv");
  const std::string summary = examples::concat(
      "explain lemna: ", ac.corpus.objects, " objects, ", ac.corpus.chunks.size(), " chunks, ", ac.corpus.functions,
      " function starts; split by object: train ", split.train.size(), ", test ", split.test.size(), " (patch source ",
      patch_src.size(), ", held-out ", held.size(), ")\n", corpus_lines, model_line, "\n\nfidelity (PCR over ",
      cases.size(), " explained starts, ", o.n_features, " features, K = ", o.components, ", window ",
      2 * o.half_width + 1, "):\n", fid_table, "\npatching: ", n_fn, " FN + ", n_fp, " FP of the patch-source split, ",
      o.patch_seeds, " seeds (", o.seed + 1, "..", o.seed + static_cast<std::uint64_t>(o.patch_seeds),
      "), crafted x3 / x4 from LEMNA's top 2 (window ", 2 * o.patch_half_width + 1,
      ") or 2 random window positions, or nothing; fine-tuned ", o.patch_epochs, " epochs (Adam ", o.patch_lr,
      "); mean ± sd over seeds; fixed / broken: bytes wrong / right before that are right / wrong after\n", patch_table,
      "\ntotal ", seconds_since(t0), " s\n");
  io::atomic_write_bytes(dir / "summary.txt", summary);
  std::printf("\n%s", summary.c_str());
  return 0;
}

int run(int argc, char** argv) {
  CLI::App app{
      "LEMNA explaining a bidirectional-RNN function-start detector: fidelity tests and patching on held-out code"};
  options o;
  for (const auto& a : data::default_function_start_archives()) o.archives.push_back(a.path.string());
  app.add_option("--archives", o.archives, "static archives of x86-64 ELF objects (missing ones are skipped)")
      ->delimiter(',');
  app.add_option("--out", o.out,
                 "results folder (the trained model is cached there, with a record of what it was made from)");
  app.add_option("--max-chunks", o.max_chunks, "chunks read per archive, in archive order (-1: all)");
  app.add_option("--chunk", o.chunk, "bytes per sequence (LEMNA: 200)");
  app.add_option("--test-fraction", o.test_fraction, "share of objects in the test split");
  app.add_option("--train-fraction", o.train_fraction, "share of the training objects used (a learning curve)");
  app.add_flag("--model-only", o.model_only, "stop after training and scoring the model");
  app.add_option("--cell", o.cell, "recurrent cell: gru, relu (LEMNA's SimpleRNN) or lstm")
      ->check(CLI::IsMember({"gru", "relu", "lstm"}));
  app.add_option("--embed", o.embed, "embedding dimension (LEMNA: 16)");
  app.add_option("--hidden", o.hidden, "hidden units per direction (LEMNA: 8)");
  app.add_option("--layers", o.layers, "stacked bidirectional layers (LEMNA: 1)");
  app.add_option("--epochs", o.epochs, "training epochs (LEMNA: 150)");
  app.add_option("--batch", o.batch, "batch size (LEMNA: 100)");
  app.add_option("--lr", o.lr, "Adam learning rate of the first epoch");
  app.add_option("--lr-decay", o.lr_decay, "learning rate factor per epoch");
  app.add_option("--dropout", o.dropout, "dropout before the head, training only");
  app.add_flag("--no-cache", o.no_cache, "train even when the cached model exists and its record matches");
  app.add_option("--explain", o.n_explain, "detected starts of the test split to explain (fidelity tests)");
  app.add_option("--components", o.components, "K of the LEMNA mixture (paper: 6; 1 = the released code)");
  app.add_option("--half-width", o.half_width, "window half width h of the fidelity explanations (LEMNA: 20)");
  app.add_option("--samples", o.samples, "perturbed samples per explanation (LEMNA: 500)");
  app.add_option("--n-features", o.n_features, "features kept/removed by the fidelity tests");
  app.add_option("--max-patch", o.max_patch, "errors of each kind explained for patching");
  app.add_option("--patch-epochs", o.patch_epochs, "fine-tuning epochs (released: 10)");
  app.add_option("--patch-lr", o.patch_lr, "fine-tuning Adam learning rate (released: 1e-3)");
  app.add_option("--patch-seeds", o.patch_seeds, "patching repetitions (seeds seed+1, ...)");
  app.add_option("--seed", o.seed, "seed of the model, the sampler and the baselines");
  CLI11_PARSE(app, argc, argv);
  if (o.cell == "relu") return study<rnn_relu_cell>(o);
  if (o.cell == "lstm") return study<lstm_cell>(o);
  return study<gru_cell>(o);
}

}  // namespace examples::explain_lemna
