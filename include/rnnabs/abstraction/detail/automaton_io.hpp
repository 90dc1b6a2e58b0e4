#pragma once
// automaton::save / load: an rnnabs archive (kind "automaton", version 1) with the members
//   meta            int64 [n_states, n_labels, vocab_size, consumes_tokens]
//   lengths         int64 (samples)        steps of each sample id
//   alive           uint8 (samples)        0 for removed samples
//   transitions     int64 (K x 5)          from, label, token, next_label, to — sorted
//   offsets         int64 (K + 1)          postings of transition k: [offsets[k], offsets[k+1])
//   posting_sample  int32 (P), posting_step int32 (P)
// The token-free index and the derived tables are rebuilt on load. Without rnnabs::zip both throw io_error.
#include <cstring>
#include <filesystem>

#include "rnnabs/abstraction/automaton.hpp"
#if defined(RNNABS_HAVE_ZIP)
#include "rnnabs/io/archive.hpp"
#endif

namespace rnnabs {

#if defined(RNNABS_HAVE_ZIP)

namespace detail {
template <class T>
io::npy_array std_to_npy(const std::vector<T>& v) {
  io::npy_array a;
  a.type = io::dtype_of<T>();
  a.shape = {v.size()};
  a.data.resize(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(a.data.data(), v.data(), a.data.size());
  return a;
}
}  // namespace detail

inline void automaton::save(const std::filesystem::path& path) const {
  require(m_ > 0, "automaton::save: the automaton is empty");
  io::archive ar("automaton", archive_version);
  ar.put_array("meta", detail::std_to_npy(std::vector<std::int64_t>{m_, c_, v_, has_tokens_ ? 1 : 0}));
  ar.put_array("lengths", detail::std_to_npy(std::vector<std::int64_t>(lengths_.begin(), lengths_.end())));
  std::vector<std::uint8_t> alive(alive_.begin(), alive_.end());
  ar.put_array("alive", detail::std_to_npy(alive));
  matrix<std::int64_t> tr(t5_.size(), 5);
  for (index_t i = 0; i < t5_.size(); ++i) {
    const transition t = decode5(t5_.key(i));
    tr.row(i) << t.from, t.label, t.token, t.next_label, t.to;
  }
  ar.put_array("transitions", io::to_npy_array(tr));
  ar.put_array("offsets", detail::std_to_npy(std::vector<std::int64_t>(t5_.offsets().begin(), t5_.offsets().end())));
  std::vector<std::int32_t> ps, st;
  ps.reserve(t5_.all_postings().size());
  st.reserve(t5_.all_postings().size());
  for (const posting& p : t5_.all_postings()) {
    ps.push_back(p.sample);
    st.push_back(p.step);
  }
  ar.put_array("posting_sample", detail::std_to_npy(ps));
  ar.put_array("posting_step", detail::std_to_npy(st));
  io::save(path, ar);
}

inline automaton automaton::load(const std::filesystem::path& path) {
  const io::archive ar = io::load(path, "automaton", archive_version);
  const std::string origin = rnnabs::detail::concat("automaton::load: ", path);
  const auto ints = [&](const char* name) {
    const auto it = ar.arrays().find(name);
    require<io_error>(it != ar.arrays().end(), origin, ": no member '", name, "'");
    const matrix<index_t> m = io::to_matrix<index_t>(it->second);
    return m;
  };
  const matrix<index_t> meta = ints("meta");
  require<io_error>(meta.size() == 4, origin, ": 'meta' must hold 4 numbers");
  automaton a;
  a.m_ = meta(0);
  a.c_ = meta(1);
  a.v_ = meta(2);
  a.has_tokens_ = meta(3) != 0;
  require<io_error>(a.m_ >= 2 && a.c_ >= 1 && a.v_ >= 1 && a.fits_keys(), origin, ": bad sizes m = ", a.m_,
                    ", C = ", a.c_, ", V = ", a.v_);
  // The derived tables have m^2 and V + 1 entries: sizes from the file, so within the reader limit.
  io::detail::check_alloc(static_cast<std::uint64_t>(a.m_) * static_cast<std::uint64_t>(a.m_), sizeof(index_t), origin,
                          "the state-edge table of 'meta'");
  io::detail::check_alloc(static_cast<std::uint64_t>(a.v_) + 1, sizeof(index_t), origin, "the token table of 'meta'");
  const matrix<index_t> len = ints("lengths"), alive = ints("alive"), tr = ints("transitions"), off = ints("offsets"),
                        ps = ints("posting_sample"), st = ints("posting_step");
  const index_t n = len.rows(), K = tr.rows(), P = ps.rows();
  require<io_error>(alive.rows() == n && (tr.cols() == 5 || K == 0) && off.rows() == K + 1 && st.rows() == P &&
                        off(0) == 0 && off(K) == P,
                    origin, ": inconsistent member sizes");
  a.lengths_.assign(len.data(), len.data() + n);
  a.alive_.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    require<io_error>(len(i) > 0, origin, ": sample ", i, " has length ", len(i));
    a.alive_[static_cast<std::size_t>(i)] = alive(i) != 0 ? 1 : 0;
  }
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(K));
  for (index_t k = 0; k < K; ++k) {
    const auto in = [&](index_t v, index_t hi) { return v >= 0 && v < hi; };
    require<io_error>(in(tr(k, 0), a.m_) && in(tr(k, 1), a.c_) && in(tr(k, 2), a.v_) && in(tr(k, 3), a.c_) &&
                          in(tr(k, 4), a.m_) && off(k + 1) > off(k),
                      origin, ": bad transition ", k);
    keys[static_cast<std::size_t>(k)] = a.pack5(tr(k, 0), tr(k, 1), tr(k, 2), tr(k, 3), tr(k, 4));
    require<io_error>(k == 0 || keys[static_cast<std::size_t>(k)] > keys[static_cast<std::size_t>(k - 1)], origin,
                      ": transitions are not sorted");
  }
  std::vector<posting> post(static_cast<std::size_t>(P));
  std::vector<index_t> start(static_cast<std::size_t>(n) + 1, 0);
  for (index_t i = 0; i < n; ++i)  // positive lengths (checked above); their sum must not overflow
    require<io_error>(
        !__builtin_add_overflow(start[static_cast<std::size_t>(i)], len(i), &start[static_cast<std::size_t>(i) + 1]),
        origin, ": the sample lengths overflow");
  // One step index entry per step of every sample: the lengths come from the file.
  io::detail::check_alloc(static_cast<std::uint64_t>(start.back()), sizeof(std::uint64_t) + 1, origin,
                          "the step index of 'lengths'");
  std::vector<std::uint64_t> k4(static_cast<std::size_t>(start.back()));
  std::vector<char> seen(static_cast<std::size_t>(start.back()), 0);
  for (index_t k = 0; k < K; ++k) {
    const transition t = a.decode5(keys[static_cast<std::size_t>(k)]);
    for (index_t p = off(k); p < off(k + 1); ++p) {
      const index_t s = ps(p), j = st(p);
      require<io_error>(s >= 0 && s < n && a.alive_[static_cast<std::size_t>(s)] && j >= 0 && j < len(s), origin,
                        ": bad posting ", p);
      const auto g = static_cast<std::size_t>(start[static_cast<std::size_t>(s)] + j);
      require<io_error>(!seen[g], origin, ": step ", j, " of sample ", s, " is posted twice");
      seen[g] = 1;
      k4[g] = a.pack4(t.from, t.label, t.next_label, t.to);
      post[static_cast<std::size_t>(p)] = {static_cast<std::int32_t>(s), static_cast<std::int32_t>(j)};
    }
  }
  std::vector<detail::keyed_posting> e4;
  e4.reserve(static_cast<std::size_t>(P));
  for (index_t s = 0; s < n; ++s) {
    if (!a.alive_[static_cast<std::size_t>(s)]) continue;
    for (index_t j = 0; j < len(s); ++j) {
      const auto g = static_cast<std::size_t>(start[static_cast<std::size_t>(s)] + j);
      require<io_error>(seen[g], origin, ": step ", j, " of live sample ", s, " has no posting");
      e4.push_back({k4[g], {static_cast<std::int32_t>(s), static_cast<std::int32_t>(j)}});
    }
  }
  a.t5_ = detail::postings_table::from_parts(std::move(keys), std::vector<index_t>(off.data(), off.data() + K + 1),
                                             std::move(post));
  a.t4_ = detail::postings_table::build(std::move(e4), a.max_key4());
  a.rebuild_derived();
  return a;
}
#else
inline void automaton::save(const std::filesystem::path&) const {
  throw io_error("automaton::save: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
inline automaton automaton::load(const std::filesystem::path&) {
  throw io_error("automaton::load: this build has no archive support; link rnnabs::zip (zlib + minizip)");
}
#endif

}  // namespace rnnabs
