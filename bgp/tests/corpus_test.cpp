// Fuzz regression under the normal build: every seed in fuzz/corpus plus
// deterministic mutations of it (bit flips, truncations, length-field damage)
// goes through the same property as the libFuzzer target.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "../fuzz/decode_one.h"

namespace fs = std::filesystem;
using vrfabric::bgp::fuzz::decodeOne;

namespace {
std::vector<std::vector<uint8_t>> loadCorpus() {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& e : fs::directory_iterator(VRBGP_CORPUS_DIR)) {
    std::ifstream f(e.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return out;
}
}  // namespace

TEST_CASE("seed corpus is present and decodes without crashing") {
  auto corpus = loadCorpus();
  REQUIRE(corpus.size() >= 10);
  for (const auto& s : corpus) decodeOne(s.data(), s.size());
}

TEST_CASE("mutated seeds never crash the decoder") {
  std::mt19937 rng(7606);  // fixed seed: the run is reproducible
  size_t runs = 0;
  for (auto seed : loadCorpus()) {
    if (seed.size() < 2) continue;
    for (int i = 0; i < 400; ++i) {
      auto m = seed;
      switch (rng() % 5) {
        case 0: m[1 + rng() % (m.size() - 1)] ^= uint8_t(1u << (rng() % 8)); break;   // bit flip
        case 1: m.resize(1 + rng() % m.size()); break;                                // truncate
        case 2: m[1 + rng() % (m.size() - 1)] = uint8_t(rng()); break;               // random byte
        case 3:                                                                        // damage a length
          if (m.size() > 24) m[20 + rng() % 4] = uint8_t(rng() % 4 == 0 ? 0xff : rng());
          break;
        case 4: m.insert(m.begin() + 1 + rng() % (m.size() - 1), uint8_t(rng())); break;  // insert
      }
      decodeOne(m.data(), m.size());
      ++runs;
    }
  }
  CHECK(runs > 4000);
}
