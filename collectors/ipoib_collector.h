// ipoib: every IPoIB interface of the sysfs tree (class/net/*/type = 32,
// whatever its name: ib0, ibs22, ibp12s0, ib0.8001, net1), its mode, P_Key,
// the HCA port it sits on, and a mode-aware MTU verdict: datagram mode caps
// the MTU at 2044 bytes and is correct there; connected mode allows 65520 and
// should run at 9000 or more (per the Alluxio RDMA networking guide).
//
// Contract: expected MTU = min(--ipoib.expected-mtu, the mode's maximum);
// without the flag 9000 in connected mode and 2044 in datagram mode. An
// interface whose mode cannot be read gets no verdict. Join with the HCA
// port through the ca and port labels of ibpath_ipoib_info.
// Thread-safety: as Collector.
#pragma once

#include <cstdint>
#include <optional>

#include "collectors/collector.h"
#include "collectors/source/infiniband_sysfs.h"

namespace ibpath {

inline constexpr uint32_t kIpoibDatagramMaxMtu = 2044;
inline constexpr uint32_t kIpoibConnectedMaxMtu = 65520;
inline constexpr uint32_t kIpoibConnectedDefaultExpectedMtu = 9000;

// 0 when the mode is unknown.
uint32_t IpoibMaxMtu(IpoibMode mode);
uint32_t IpoibExpectedMtu(IpoibMode mode, std::optional<uint32_t> flag);

class IpoibCollector : public Collector {
 public:
  IpoibCollector(SysfsReader sysfs, std::optional<uint32_t> expected_mtu)
      : sysfs_(std::move(sysfs)), expected_mtu_(expected_mtu) {}
  Status Collect(MetricSink& out) override;

  static void Export(const IpoibReading& reading, std::optional<uint32_t> expected_mtu,
                     MetricSink& out);

 private:
  SysfsReader sysfs_;
  std::optional<uint32_t> expected_mtu_;
};

}  // namespace ibpath
