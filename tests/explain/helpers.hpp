#pragma once
// Small helpers shared by the explain tests: CSV fixtures under tests/fixtures/explain.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <rnnabs/core/types.hpp>

namespace explain_test {

inline std::string fixture(const std::string& name) { return std::string(RNNABS_TEST_DATA) + "/explain/" + name; }

/// Numeric CSV (optionally skipping a header line); quoted fields and "NA" are not supported.
inline rnnabs::matrix<double> read_csv(const std::string& path, bool header) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  if (header) std::getline(in, line);
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> r;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) r.push_back(std::stod(cell));
    rows.push_back(r);
  }
  rnnabs::matrix<double> m(static_cast<rnnabs::index_t>(rows.size()),
                           rows.empty() ? 0 : static_cast<rnnabs::index_t>(rows[0].size()));
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < rows[i].size(); ++j)
      m(static_cast<rnnabs::index_t>(i), static_cast<rnnabs::index_t>(j)) = rows[i][j];
  return m;
}

}  // namespace explain_test
