#pragma once
// Shared by the example programs: a results folder with CSV tables (written atomically), pictures
// drawn by gnuplot when it is installed, and a progress line on stderr when it is a terminal.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <rnnabs/core/error.hpp>
#include <rnnabs/core/types.hpp>
#include <rnnabs/io/atomic_file.hpp>

namespace examples {

namespace fs = std::filesystem;

/// A text cell for a CSV table: quoted, with quotes doubled (RFC 4180), so commas, quotes and line
/// breaks inside it stay one field.
inline std::string csv_text(const std::string& s) {
  std::string q = "\"";
  for (const char c : s) {
    if (c == '"') q.push_back('"');
    q.push_back(c);
  }
  return q + "\"";
}

/// A CSV table: header, then rows of cells; saved atomically.
class csv_table {
 public:
  explicit csv_table(std::vector<std::string> header) : header_(std::move(header)) {}
  template <class... Cells>
  void add(const Cells&... cells) {
    std::ostringstream os;
    os.precision(10);
    bool first = true;
    ((os << (first ? "" : ",") << cells, first = false), ...);
    rows_.push_back(os.str());
  }
  void save(const fs::path& path) const {
    rnnabs::io::atomic_write(path, [&](std::ostream& os) {
      for (std::size_t i = 0; i < header_.size(); ++i) os << (i ? "," : "") << header_[i];
      os << '\n';
      for (const auto& r : rows_) os << r << '\n';
    });
  }

 private:
  std::vector<std::string> header_;
  std::vector<std::string> rows_;
};

/// Runs a gnuplot script (saved beside its picture for re-use); false with a note if gnuplot is missing.
inline bool plot(const fs::path& script_path, const std::string& script) {
  rnnabs::io::atomic_write_bytes(script_path, script);
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::cerr << "note: gnuplot not found (apt-get install gnuplot-nox); the plot script is " << script_path << "\n";
    return false;
  }
  const std::string cmd = "gnuplot '" + script_path.string() + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::cerr << "warning: gnuplot failed on " << script_path << "\n";
    return false;
  }
  return true;
}

/// Progress of a long step on stderr (rewritten in place on a terminal, one line per update otherwise).
class progress {
 public:
  progress(std::string what, long total) : what_(std::move(what)), total_(total), tty_(isatty(2) != 0) {}
  void update(long done, const std::string& note = "") {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    std::fprintf(stderr, "%s%s %ld/%ld  %.1fs  %s%s", tty_ ? "\r\033[K" : "", what_.c_str(), done, total_, s,
                 note.c_str(), tty_ ? "" : "\n");
    if (tty_ && done == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  std::string what_;
  long total_;
  bool tty_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

/// Mean and sample standard deviation of values added one by one (over seeds, rounds, repeats).
struct spread {
  std::vector<double> values;
  void add(double x) { values.push_back(x); }
  double mean() const {
    double s = 0;
    for (const double x : values) s += x;
    return values.empty() ? 0 : s / static_cast<double>(values.size());
  }
  double sd() const {
    if (values.size() < 2) return 0;
    const double m = mean();
    double s = 0;
    for (const double x : values) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(values.size() - 1));
  }
  /// "mean ± sd" with `digits` decimals ("n/a" without values).
  std::string text(int digits = 3) const {
    if (values.empty()) return "n/a";
    char b[64];
    std::snprintf(b, sizeof b, "%.*f ± %.*f", digits, mean(), digits, sd());
    return b;
  }
};

/// The fraction of predictions equal to the truth (0 for no input).
inline double accuracy_of(const rnnabs::index_vector& pred, const rnnabs::index_vector& truth) {
  return truth.size() ? static_cast<double>((pred.array() == truth.array()).count()) / static_cast<double>(truth.size())
                      : 0;
}

/// Seconds since `t0`.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace examples
