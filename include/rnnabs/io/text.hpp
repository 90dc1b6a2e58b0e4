#pragma once
// Text files of labelled samples, read as they are (tokenizing and labelling live in data/text.hpp):
//   read_strfile          strfile sources (fortune(6)): entries separated by lines holding a single '%'
//   read_labelled_lines   one sample per line, "label<TAB>text"
//   read_csv_columns      CSV (RFC 4180: quoted fields, "" escapes, newlines inside quotes) with a
//                         header row; the named columns of every record
//   read_embeddings_text  GloVe-format vectors, "word v1 ... vd" per line, kept for wanted words only
// Every malformed input is an io_error naming the file and the line.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rnnabs/core/error.hpp"
#include "rnnabs/io/detail/file.hpp"
#include "rnnabs/io/limits.hpp"

namespace rnnabs::io {

namespace detail {

inline std::string_view trim(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

/// `bytes` without a leading UTF-8 byte-order mark (spreadsheet exports write one).
inline std::string_view without_bom(std::string_view bytes) {
  return bytes.substr(0, 3) == "\xEF\xBB\xBF" ? bytes.substr(3) : bytes;
}

/// Calls f(line, number) for each line (1-based numbers; '\n' or "\r\n" endings, a last line without one).
template <class F>
void for_each_line(std::string_view bytes, F&& f) {
  std::size_t pos = 0, number = 0;
  while (pos < bytes.size()) {
    std::size_t end = bytes.find('\n', pos);
    if (end == std::string_view::npos) end = bytes.size();
    std::string_view line = bytes.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line, ++number);
    pos = end + 1;
  }
}

}  // namespace detail

/// The entries of a strfile source: text between lines that hold only '%' (trailing spaces allowed),
/// with surrounding white space removed; empty entries are dropped. io_error when the file is missing
/// or holds no entry.
inline std::vector<std::string> read_strfile(const std::filesystem::path& path) {
  constexpr const char* who = "read_strfile";
  const std::string bytes = detail::read_file_bytes(path, who);
  std::vector<std::string> entries;
  std::string cur;
  const auto flush = [&] {
    const auto t = detail::trim(cur);
    if (!t.empty()) entries.emplace_back(t);
    cur.clear();
  };
  detail::for_each_line(detail::without_bom(bytes), [&](std::string_view line, std::size_t) {
    if (detail::trim(line) == "%" && !line.empty() && line.front() == '%') {
      flush();
    } else {
      cur.append(line);
      cur.push_back('\n');
    }
  });
  flush();
  require<io_error>(!entries.empty(), who, ": ", path, ": no entry (an empty strfile source)");
  return entries;
}

/// One labelled sample as read from a file.
struct labelled_line {
  std::string label;
  std::string text;
  std::size_t line = 0;  ///< 1-based line (CSV: the line its record starts on)
};

/// "label<TAB>text" per line, no header line; blank lines are skipped. io_error naming the line when a line has no
/// tab, an empty label or an empty text, and when the file holds no sample.
inline std::vector<labelled_line> read_labelled_lines(const std::filesystem::path& path) {
  constexpr const char* who = "read_labelled_lines";
  const std::string bytes = detail::read_file_bytes(path, who);
  std::vector<labelled_line> out;
  detail::for_each_line(detail::without_bom(bytes), [&](std::string_view line, std::size_t n) {
    if (detail::trim(line).empty()) return;
    const auto tab = line.find('\t');
    require<io_error>(tab != std::string_view::npos, who, ": ", path, ": line ", n,
                      " has no tab (expected \"label<TAB>text\")");
    const auto label = detail::trim(line.substr(0, tab)), text = detail::trim(line.substr(tab + 1));
    require<io_error>(!label.empty(), who, ": ", path, ": line ", n, " has an empty label");
    require<io_error>(!text.empty(), who, ": ", path, ": line ", n, " has an empty text");
    out.push_back({std::string(label), std::string(text), n});
  });
  require<io_error>(!out.empty(), who, ": ", path, ": no sample (the file is empty)");
  return out;
}

namespace detail {

/// RFC 4180 records: fields separated by `sep`, optionally quoted ("" is a quote inside quotes,
/// quoted fields may span lines). Each record comes with the line it starts on; blank lines are no record.
inline std::vector<std::pair<std::vector<std::string>, std::size_t>> parse_csv(std::string_view s, char sep,
                                                                               std::string_view origin) {
  std::vector<std::pair<std::vector<std::string>, std::size_t>> records;
  std::vector<std::string> fields;
  std::string field;
  std::size_t i = 0, line = 1, start_line = 1;
  bool in_record = false, quoted = false;  // quoted: the record has a quoted field (so it is not blank)
  const auto end_record = [&] {
    fields.push_back(std::move(field));
    field.clear();
    // A line of white space only is blank, not a record of one field.
    if (quoted || fields.size() > 1 || !trim(fields[0]).empty()) records.emplace_back(std::move(fields), start_line);
    fields.clear();
    in_record = quoted = false;
  };
  while (i < s.size()) {
    if (!in_record) {
      in_record = true;
      start_line = line;
    }
    const char c = s[i];
    if (c == '"' && field.empty()) {
      const std::size_t open_line = line;
      quoted = true;
      bool closed = false;
      for (++i; i < s.size(); ++i) {
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field.push_back('"');
            ++i;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (s[i] == '\n') ++line;
        field.push_back(s[i]);
      }
      require<io_error>(closed, origin, ": the quoted field opened on line ", open_line, " is never closed");
      require<io_error>(
          i == s.size() || s[i] == sep || s[i] == '\n' || (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n'),
          origin, ": line ", line, ": text after a closing quote (a quote inside a field must be doubled)");
      continue;
    }
    ++i;
    if (c == sep) {
      fields.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      end_record();
      ++line;
    } else if (c != '\r' || i >= s.size() || s[i] != '\n') {
      field.push_back(c);
    }
  }
  if (in_record) end_record();
  return records;
}

}  // namespace detail

/// The named columns of a CSV file with a header row, one vector per record (in `columns` order).
/// io_error naming the file and line for a missing column, a record of another field count, or
/// broken quoting.
inline std::vector<std::pair<std::vector<std::string>, std::size_t>> read_csv_columns(
    const std::filesystem::path& path, const std::vector<std::string>& columns, char separator = ',') {
  constexpr const char* who = "read_csv_columns";
  const std::string bytes = detail::read_file_bytes(path, who);
  const std::string origin = rnnabs::detail::concat(who, ": ", path);
  auto records = detail::parse_csv(detail::without_bom(bytes), separator, origin);
  require<io_error>(!records.empty(), origin, ": no header row (the file is empty)");
  const auto& header = records.front().first;
  std::vector<std::size_t> pick;
  for (const auto& c : columns) {
    std::size_t k = 0;
    while (k < header.size() && std::string(detail::trim(header[k])) != c) ++k;
    if (k == header.size()) {
      std::string have;
      for (const auto& h : header) have += (have.empty() ? "" : ", ") + std::string(detail::trim(h));
      throw io_error(rnnabs::detail::concat(origin, ": no column '", c, "' in the header (columns: ", have, ")"));
    }
    pick.push_back(k);
  }
  std::vector<std::pair<std::vector<std::string>, std::size_t>> out;
  for (std::size_t r = 1; r < records.size(); ++r) {
    auto& [f, line] = records[r];
    require<io_error>(f.size() == header.size(), origin, ": the record on line ", line, " has ", f.size(),
                      " fields, the header has ", header.size());
    std::vector<std::string> row;
    for (std::size_t k : pick) row.push_back(std::move(f[k]));
    out.emplace_back(std::move(row), line);
  }
  return out;
}

/// GloVe-format vectors ("word v1 ... vd", space separated, one word per line; a first line "N d" as
/// fastText writes is skipped) of the words in `wanted` (word -> row): a rows x d row-major buffer
/// (rows of absent words stay 0) and which rows were found. Read line by line, so a 5 GB file costs
/// only the wanted rows. The dimension comes from the first vector; io_error naming the line on
/// another count, a non-number or a non-finite value.
struct embedding_rows {
  std::size_t dim = 0;
  std::vector<double> values;  ///< rows x dim, row-major
  std::vector<char> found;     ///< per row
  std::size_t lines = 0;       ///< vectors in the file
};

inline embedding_rows read_embeddings_text(const std::filesystem::path& path,
                                           const std::unordered_map<std::string, std::size_t>& wanted,
                                           std::size_t rows) {
  constexpr const char* who = "read_embeddings_text";
  detail::require_file(path, who);
  std::ifstream in(path, std::ios::binary);
  require<io_error>(in.is_open(), who, ": ", path, ": cannot open for reading");
  embedding_rows r;
  r.found.assign(rows, 0);
  std::vector<double> v;
  std::string raw;
  for (std::size_t n = 1; std::getline(in, raw); ++n) {
    std::string_view line = n == 1 ? detail::without_bom(raw) : std::string_view(raw);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (detail::trim(line).empty()) continue;
    std::size_t p = line.find(' ');
    require<io_error>(p != std::string_view::npos && p > 0, who, ": ", path, ": line ", n,
                      " is not \"word v1 ... vd\"");
    const std::string word(line.substr(0, p));
    v.clear();
    while (p < line.size()) {
      while (p < line.size() && line[p] == ' ') ++p;
      if (p >= line.size()) break;
      const std::size_t e = std::min(line.find(' ', p), line.size());
      const std::string tok(line.substr(p, e - p));
      char* end = nullptr;
      const double x = std::strtod(tok.c_str(), &end);
      require<io_error>(end && *end == '\0', who, ": ", path, ": line ", n, ": '", tok, "' is not a number");
      require<io_error>(std::isfinite(x), who, ": ", path, ": line ", n, ": non-finite value '", tok, "'");
      v.push_back(x);
      p = e;
    }
    const bool header = n == 1 && v.size() == 1 && word.find_first_not_of("0123456789") == std::string::npos;
    if (header) continue;  // fastText's "N d"
    if (r.dim == 0) {
      require<io_error>(!v.empty(), who, ": ", path, ": line ", n, " has no vector");
      r.dim = v.size();
      detail::check_alloc(rows, r.dim * sizeof(double), rnnabs::detail::concat(who, ": ", path),
                          rnnabs::detail::concat(rows, " wanted rows of ", r.dim, " values (line ", n, ")"));
      r.values.assign(rows * r.dim, 0.0);
    }
    require<io_error>(v.size() == r.dim, who, ": ", path, ": line ", n, " has ", v.size(), " values, expected ", r.dim,
                      " (from the first vector)");
    ++r.lines;
    const auto it = wanted.find(word);
    if (it == wanted.end() || it->second >= rows || r.found[it->second]) continue;  // first vector of a word wins
    std::copy(v.begin(), v.end(), r.values.begin() + static_cast<std::ptrdiff_t>(it->second * r.dim));
    r.found[it->second] = 1;
  }
  require<io_error>(!in.bad(), who, ": ", path, ": read error");
  require<io_error>(r.lines > 0, who, ": ", path, ": no vector (the file is empty)");
  return r;
}

}  // namespace rnnabs::io
