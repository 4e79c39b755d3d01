// Shared by the fuzz targets: an invariant check that survives -DNDEBUG
// (RelWithDebInfo) and names the broken invariant, and a byte reader that
// splits one fuzz input into typed fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace ibpath::fuzz {

// Consumes an input front to back; reads past the end yield zeros / empty.
class Bytes {
 public:
  Bytes(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  template <typename T>
  T Take() {
    T v{};
    const std::size_t n = sizeof(T) < size_ - pos_ ? sizeof(T) : size_ - pos_;
    if (n > 0) std::memcpy(&v, data_ + pos_, n);
    pos_ += n;
    return v;
  }
  // Up to the next `sep` byte (consumed), or the rest.
  std::string_view Field(char sep) {
    const char* p = reinterpret_cast<const char*>(data_) + pos_;
    const std::size_t left = size_ - pos_;
    const void* hit = left ? std::memchr(p, sep, left) : nullptr;
    const std::size_t n = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - p) : left;
    pos_ += hit ? n + 1 : n;
    return {p, n};
  }
  std::string_view Rest() {
    std::string_view r(reinterpret_cast<const char*>(data_) + pos_, size_ - pos_);
    pos_ = size_;
    return r;
  }
  std::size_t left() const { return size_ - pos_; }

 private:
  const uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace ibpath::fuzz
