// SPDX-License-Identifier: Apache-2.0
// Replays a fuzz harness over its committed seed corpus and its named
// regression inputs (each file once), so an ordinary `bazel test` (any
// compiler, any sanitizer config) keeps both as a regression suite. libFuzzer
// itself runs in fuzz_test.sh.
//
// Usage: corpus_test CORPUS_DIR [REGRESSIONS_DIR...]; the corpus must exist,
// a harness may have no regressions directory yet.
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  int runs = 0;
  for (int i = 1; i < argc; ++i) {
    DIR* d = opendir(argv[i]);
    if (d == nullptr) {
      if (i > 1) continue;
      std::fprintf(stderr, "cannot open corpus %s\n", argv[i]);
      return 1;
    }
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(std::string(argv[i]) + "/" + e->d_name, std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                 std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++runs;
    }
    closedir(d);
  }
  std::printf("replayed %d inputs\n", runs);
  return runs > 0 ? 0 : 1;
}
