// IpAddress::Parse (addresses from configuration, flags and the probe) on
// any bytes. Invariants: a parsed address prints in a form that parses back
// to the same address, and the text held no NUL (which would let trailing
// garbage pass unseen).
#include <cstddef>
#include <cstdint>
#include <string>

#include "collectors/source/ip_address.h"
#include "test/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (std::optional<IpAddress> a = IpAddress::Parse(text)) {
    FUZZ_CHECK(text.find('\0') == std::string_view::npos);
    FUZZ_CHECK(a->size() == 4 || a->size() == 16);
    const std::string s = a->ToString();
    FUZZ_CHECK(!s.empty());
    std::optional<IpAddress> back = IpAddress::Parse(s);
    FUZZ_CHECK(back && *back == *a);
  }
  return 0;
}
