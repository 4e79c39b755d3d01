// The data-path probe: read a known object through an Alluxio worker (or
// any HTTP(S) URL) and prove which device carried the bytes.
//
// One run: snapshot the interfaces, fetch at most N bytes bound to the
// client-side data device's address (the way Alluxio's client binds for
// alluxio.user.network.data.bind.device, so the kernel's routing still
// chooses the egress), snapshot again, then ask the kernel which device the
// body socket's (local, peer) routes over. The verdict is "on the data
// device" only when that device is an expected data device AND its receive
// counter grew by at least the bytes read. The receive check is necessary,
// not sufficient: other traffic on the device during the window (Alluxio's
// own, another probe) also counts.
//
// ProbeCollector runs the scheduled probe on its own thread, one run at a
// time, and exports the last result: a scrape never waits for a probe.
// On-demand probes (/probe?target=...) run on the caller's thread, at most
// `max_on_demand` at once.
//
// Thread-safety: JudgePath, ReceiveDeltas and ExportProbe are pure.
// RunHttpProbe may run on several threads at once. ProbeCollector's methods
// are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "collectors/alluxio_config_state.h"
#include "collectors/collector.h"
#include "collectors/datapath.h"
#include "collectors/source/netlink_route.h"

namespace ibpath {

struct PathVerdict {
  bool on_data_device = false;
  bool local_only = false;  // routed over loopback: the bytes never left the node
  // "" when on the data device or local only; else route_unknown,
  // route_not_data_device or rx_not_on_data_device.
  std::string reason;
};

// The verdict for one probe from what was observed: the device the kernel
// routes the body socket over ("" when unknown), the expected devices, each
// interface's receive-byte growth over the probe's window, and the body
// bytes read. A device that carried nothing proves nothing: bytes_read 0
// is never on the data device.
PathVerdict JudgePath(std::string_view route_device, const ExpectedDevices& expected,
                      const NetSnapshot& net, const std::map<std::string, uint64_t>& rx_delta,
                      uint64_t bytes_read);

// Receive-byte growth per interface name between two reads of the links,
// matched by ifindex (a device recreated in between is left out).
std::map<std::string, uint64_t> ReceiveDeltas(const std::vector<Link>& before,
                                              const std::vector<Link>& after);

// How the probe binds and what it judges against.
struct ProbeSettings {
  std::chrono::milliseconds timeout{30000};
  // Device whose address the probe binds to; empty: the Alluxio client's
  // alluxio.user.network.data.bind.device, else no bind.
  std::string device;
  bool pin_device = false;                     // SO_BINDTODEVICE instead of an address bind
  std::vector<std::string> datapath_devices;   // --datapath.devices
  const AlluxioConfigState* config = nullptr;  // may be null: Alluxio's defaults
};

struct ProbeOutcome {
  std::string kind = "http";  // http or fuse
  std::string target;
  bool success = false;
  std::string reason;  // "" on success
  std::string detail;  // for the log
  long http_status = 0;
  uint64_t bytes = 0;
  double connect_seconds = 0, first_byte_seconds = 0, transfer_seconds = 0;
  double throughput_bytes_per_second = 0;
  bool on_data_device = false;
  std::string device, transport;               // where the body socket's route goes; "" unknown
  std::string bind;                            // address or device the probe bound to, "" none
  std::map<std::string, uint64_t> rx_delta;    // interfaces that received bytes
  std::optional<uint64_t> tcp_bytes_received;  // fuse: the daemon's worker connections, summed
  std::string cache_bypass;                    // fuse: o_direct or fadvise
  double unix_time = 0;                        // when the run ended
};

// One HTTP probe of `url` reading at most `bytes` body bytes. Never throws.
ProbeOutcome RunHttpProbe(const std::string& url, uint64_t bytes, const ProbeSettings& settings,
                          const std::atomic<bool>* cancel = nullptr);

// Writes the probe families into `out`: HELP/TYPE always, samples only when
// `outcome` is given. HTTP probes' series have no `kind` label (as before
// the FUSE probe existed); FUSE probes' series carry kind="fuse".
void ExportProbe(const ProbeOutcome* outcome, MetricSink& out);

// Fills the outcome's byte count, phase durations and throughput (body bytes
// over the time they took to arrive, first to last byte).
void RecordTransfer(ProbeOutcome& o, uint64_t bytes, double connect_seconds,
                    double first_byte_seconds, double transfer_seconds);

// Per egress device, cumulative bytes received by the FUSE daemon's worker
// connections (AlluxioConnCollector::ClientReceiveByDevice); see fuse_probe.h.
using ConnectionRxSampler = std::function<Result<std::map<std::string, uint64_t>>()>;

class ProbeCollector : public Collector {
 public:
  struct Options {
    std::string url;        // scheduled HTTP probe; empty: none
    std::string fuse_path;  // scheduled FUSE probe (a file on an Alluxio FUSE mount); empty: none
    ConnectionRxSampler fuse_sampler;  // needed by FUSE probes, scheduled or on demand
    std::chrono::milliseconds interval{60000};
    uint64_t bytes = 64ull << 20;
    int max_on_demand = 2;
    ProbeSettings settings;
  };
  explicit ProbeCollector(Options options);
  ~ProbeCollector() override;

  // Starts the scheduled probes' thread (no-op without a URL or FUSE path).
  void Start();
  // Cancels a running probe and joins the thread.
  void Stop();

  Status Collect(MetricSink& out) override;

  // Runs one probe now on the calling thread. nullopt when max_on_demand
  // probes are already running (the caller answers 503).
  std::optional<ProbeOutcome> RunOnDemand(const std::string& url, uint64_t bytes);
  // The same for a FUSE probe of the file at `path`. FUSE probes run one at
  // a time (their windows would count each other's bytes): this waits for a
  // FUSE probe in flight.
  std::optional<ProbeOutcome> RunOnDemandFuse(const std::string& path, uint64_t bytes);
  uint64_t default_bytes() const { return options_.bytes; }

 private:
  void Loop();
  ProbeOutcome FuseProbe(const std::string& path, uint64_t bytes);
  void Record(ProbeOutcome o);

  const Options options_;
  std::atomic<bool> stop_{false};
  std::atomic<int> on_demand_running_{0};
  std::thread thread_;
  std::mutex fuse_mu_;  // one FUSE probe at a time

  std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  std::shared_ptr<const ProbeOutcome> last_;       // scheduled HTTP probe
  std::shared_ptr<const ProbeOutcome> last_fuse_;  // scheduled FUSE probe
  uint64_t runs_ = 0, failures_ = 0, rejected_ = 0;
};

}  // namespace ibpath
