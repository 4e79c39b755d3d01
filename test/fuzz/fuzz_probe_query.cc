// The /probe query string: ParseQuery (agent/http_server.h) and the size
// parameter (ParseSize, agent/flags.h), on any bytes.
// Invariants: no more names than '&'-separated pairs; any map written back
// fully percent-encoded parses to itself; a size parses to 1 B .. 1 TiB.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "agent/flags.h"
#include "agent/http_server.h"
#include "test/fuzz/fuzz_check.h"

namespace {

std::string EncodeAll(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  const std::string query(reinterpret_cast<const char*>(data), size);
  const std::map<std::string, std::string> parsed = ParseQuery(query);
  std::size_t pairs = 1;
  for (char c : query) pairs += c == '&';
  FUZZ_CHECK(parsed.size() <= pairs);

  std::string written;
  for (const auto& [k, v] : parsed) {
    if (!written.empty()) written += '&';
    written += EncodeAll(k) + "=" + EncodeAll(v);
  }
  FUZZ_CHECK(ParseQuery(written) == parsed);

  for (const auto& [k, v] : parsed) {
    uint64_t bytes = 0;
    if (ParseSize(v, &bytes).ok()) FUZZ_CHECK(bytes >= 1 && bytes <= (1ull << 40));
  }
  uint64_t bytes = 0;
  if (ParseSize(query, &bytes).ok()) FUZZ_CHECK(bytes >= 1 && bytes <= (1ull << 40));
  return 0;
}
