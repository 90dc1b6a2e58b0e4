#pragma once
// A one-line progress display on stderr: redrawn in place on a terminal, silent otherwise (logs and
// CI stay clean). Used by training loops and by the example programs.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace rnnabs {

class progress {
 public:
  /// `enabled = false` silences it; it also stays silent when stderr is not a terminal.
  progress(std::string what, long total, bool enabled = true)
      : what_(std::move(what)), total_(total), on_(enabled && isatty(2) != 0) {}
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;
  ~progress() { finish(); }

  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

  /// Redraws the line: a bar, done/total, elapsed seconds and a free note (at most ~20 times a second).
  void update(long done, const std::string& note = "") {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done < total_ && now - last_ < std::chrono::milliseconds(50)) return;
    last_ = now;
    constexpr int width = 24;
    const int fill = total_ > 0 ? static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total_)) : 0;
    std::string bar(static_cast<std::size_t>(width), ' ');
    for (int i = 0; i < fill && i < width; ++i) bar[static_cast<std::size_t>(i)] = '=';
    std::fprintf(stderr, "\r\033[K%s [%s] %ld/%ld %.1fs %s", what_.c_str(), bar.c_str(), done, total_, seconds(),
                 note.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  /// Ends the line (called by the destructor too).
  void finish() {
    if (on_ && drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  std::string what_;
  long total_;
  bool on_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now(), last_{};
};

}  // namespace rnnabs
