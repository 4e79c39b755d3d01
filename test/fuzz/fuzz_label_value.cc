// ValidUtf8 (collectors/metric_sink.h), which every label value passes
// through: sysfs names and values, interface names and pod names may hold any
// bytes, and one invalid label value makes Prometheus reject the whole scrape.
// Invariants, against an independent decoder: the output is valid UTF-8,
// valid input comes back unchanged, the function is idempotent, and a value
// put through a MetricSink comes out valid.
#include <cstddef>
#include <cstdint>
#include <string>

#include "collectors/metric_sink.h"
#include "test/fuzz/fuzz_check.h"

namespace {

// Decodes code point by code point; valid when every code point is in its
// shortest form, not a surrogate, and at most U+10FFFF (Go's utf8.ValidString).
bool IsValidUtf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    const uint32_t min = n == 1 ? 0 : n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string out = ValidUtf8(in);
  FUZZ_CHECK(IsValidUtf8(out));
  if (IsValidUtf8(in)) FUZZ_CHECK(out == in);
  FUZZ_CHECK(out.size() >= in.size());
  FUZZ_CHECK(ValidUtf8(out) == out);

  MetricSink sink;
  sink.Gauge("ibpath_fuzz", "Fuzz.", {{"device", in}}, 1);
  MetricSink outer;
  outer.Merge(sink.Take(), {{"pod", in}});
  for (const auto& family : outer.Take()) {
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) FUZZ_CHECK(IsValidUtf8(label.value));
    }
  }
  return 0;
}
