// The plain (GCC) build's driver for the fuzz targets: feeds every file named
// on the command line, or found in a directory named there, to
// LLVMFuzzerTestOneInput once, as libFuzzer does with -runs=0. It keeps the
// targets compiling and their corpora passing without clang.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path p = argv[i];
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s FILE|DIR...: no inputs found\n", argv[0]);
    return 2;
  }
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", f.c_str());
      return 2;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // An exact-size heap copy, as libFuzzer passes it, so overreads stay visible.
    std::vector<uint8_t> buf(bytes.begin(), bytes.end());
    auto* data = buf.empty() ? nullptr : new uint8_t[buf.size()];
    std::copy(buf.begin(), buf.end(), data);
    LLVMFuzzerTestOneInput(data, buf.size());
    delete[] data;
  }
  std::printf("replayed %zu inputs\n", files.size());
  return 0;
}
