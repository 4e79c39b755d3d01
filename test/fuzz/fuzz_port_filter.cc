// inet_diag bytecode: BuildPortFilter for a fuzzed port list must accept a
// socket exactly when its source or destination port is in the list (run
// through RunPortFilter, the kernel's inet_diag_bc_run semantics), and
// RunPortFilter over arbitrary bytes as bytecode must terminate without
// reading outside the program.
// Ports are capped at 64: the agent filters on its role table (about a dozen
// ports); the 16-bit jump offsets would overflow past about 800 ports.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "collectors/source/sock_diag.h"
#include "test/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  // Arbitrary bytecode first (the whole input).
  const std::vector<uint8_t> program(data, data + size);
  const bool a = RunPortFilter(program, 0, 0);
  const bool b = RunPortFilter(program, 0, 0);
  FUZZ_CHECK(a == b);
  if (program.empty()) FUZZ_CHECK(a);  // an empty program accepts all

  fuzz::Bytes in(data, size);
  const std::size_t n = std::min<std::size_t>(in.Take<uint8_t>() % 65, in.left() / 2);
  std::vector<uint16_t> ports;
  for (std::size_t i = 0; i < n; ++i) ports.push_back(in.Take<uint16_t>());
  const std::vector<uint8_t> filter = BuildPortFilter(ports);
  FUZZ_CHECK(ports.empty() == filter.empty());
  auto listed = [&](uint16_t p) { return std::find(ports.begin(), ports.end(), p) != ports.end(); };
  // The listed ports, their neighbours, and the queries the input names.
  std::vector<uint16_t> probes = {0, 1, 65535};
  for (uint16_t p : ports) {
    probes.push_back(p);
    probes.push_back(static_cast<uint16_t>(p + 1));
    probes.push_back(static_cast<uint16_t>(p - 1));
  }
  while (in.left() >= 2 && probes.size() < 512) probes.push_back(in.Take<uint16_t>());
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const uint16_t s = probes[i], d = probes[(i * 7 + 3) % probes.size()];
    const bool want = ports.empty() || listed(s) || listed(d);
    FUZZ_CHECK(RunPortFilter(filter, s, d) == want);
    FUZZ_CHECK(RunPortFilter(filter, s, 0) == (ports.empty() || listed(s) || listed(0)));
  }
  return 0;
}
