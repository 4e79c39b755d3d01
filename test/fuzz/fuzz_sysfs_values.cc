// The pure parsers of single sysfs values (infiniband_sysfs.h): port state,
// rate, unsigned counters, IPoIB mode, bonding mode, on any bytes.
// Invariants: a parsed counter prints and parses back to itself, "N/A..." is
// Unavailable, a state is non-negative, a rate finite and non-negative, a mode
// only one of the two names, a bonding mode a non-empty word of the text;
// every failure carries a message.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "collectors/source/infiniband_sysfs.h"
#include "test/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string_view trimmed = TrimSysfsValue(text);

  if (Result<uint64_t> v = ParseSysfsUint(text); v.ok()) {
    Result<uint64_t> dec = ParseSysfsUint(std::to_string(*v) + "\n");
    FUZZ_CHECK(dec.ok() && *dec == *v);
    FUZZ_CHECK(!trimmed.starts_with("N/A"));
  } else {
    FUZZ_CHECK(!v.status().message().empty());
    if (trimmed.starts_with("N/A")) FUZZ_CHECK(v.status().code() == Status::Code::kUnavailable);
  }

  if (Result<int> st = ParseIbStateFile(text); st.ok()) {
    FUZZ_CHECK(*st >= 0);
    FUZZ_CHECK(!IbPortStateName(*st).empty() && !IbPhysStateName(*st).empty());
    Result<int> again = ParseIbStateFile(std::to_string(*st) + ": " + IbPortStateName(*st));
    FUZZ_CHECK(again.ok() && *again == *st);
  } else {
    FUZZ_CHECK(!st.status().message().empty());
  }

  if (Result<double> rate = ParseIbRate(text); rate.ok()) {
    FUZZ_CHECK(std::isfinite(*rate) && *rate >= 0);
  } else {
    FUZZ_CHECK(!rate.status().message().empty());
  }

  if (Result<IpoibMode> mode = ParseIpoibMode(text); mode.ok()) {
    FUZZ_CHECK(*mode != IpoibMode::kUnknown);
    FUZZ_CHECK(trimmed == IpoibModeName(*mode));
  }

  if (Result<std::string> bond = ParseBondMode(text); bond.ok()) {
    FUZZ_CHECK(!bond->empty());
    FUZZ_CHECK(bond->find(' ') == std::string::npos);
    FUZZ_CHECK(trimmed.starts_with(*bond));
  } else {
    FUZZ_CHECK(!bond.status().message().empty());
  }

  if (size >= 8) {
    uint64_t guid;
    std::memcpy(&guid, data, sizeof guid);
    FUZZ_CHECK(FormatGuid(guid).size() == 19);
  }
  return 0;
}
