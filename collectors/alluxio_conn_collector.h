// alluxio_connections: every Alluxio TCP connection of this network
// namespace, the device the kernel really sends it on, and its bytes.
//
// Per sample: dump TCP sockets on Alluxio ports through sock_diag (filtered
// in the kernel), classify each by port into a role and a side, ask the
// kernel's routing which device its egress takes (`ip route get PEER from
// LOCAL`, with the socket's bound device, mark and uid), and feed its
// byte counters to a ConnLedger. A background thread reads the kernel's
// socket-destroy notices so that connections opened and closed between two
// samples are still counted.
//
// Thread-safety: Collect() may run concurrently with the notice thread;
// both take mu_.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "collectors/alluxio_config_state.h"
#include "collectors/collector.h"
#include "collectors/conn_ledger.h"
#include "collectors/datapath.h"
#include "collectors/source/netlink_route.h"
#include "collectors/source/netns.h"
#include "collectors/source/sock_diag.h"

namespace ibpath {

class AlluxioConnCollector : public Collector {
 public:
  // `netns`: the namespace whose connections to follow (null: the agent's).
  AlluxioConnCollector(std::vector<std::string> flag_devices, const AlluxioConfigState* config,
                       std::shared_ptr<const NetnsHandle> netns = nullptr);
  ~AlluxioConnCollector() override;

  // Opens the netlink sockets, starts the destroy-notice thread (when the
  // agent may join the group) and takes the baseline sample. Failures are
  // logged and retried by later samples; the agent runs on without them.
  void Start();
  void Stop();
  // Whether destroy notices are being received.
  bool watching_closes() const { return watch_ != nullptr; }

  Status Collect(MetricSink& out) override;

  // Takes a sample now and returns, per egress device, the bytes received
  // so far by client-side connections whose role starts with `role_prefix`
  // (cumulative since the agent started watching: subtract two calls). The
  // FUSE probe brackets its read with two calls.
  Result<std::map<std::string, uint64_t>> ClientReceiveByDevice(std::string_view role_prefix);

 private:
  struct Listener {
    std::string role, address, device;
    uint16_t port = 0;
    bool on_data_device = false;
    auto operator<=>(const Listener&) const = default;
  };
  // What classification needs; rebuilt each sample and read by the notice
  // thread for sockets it never saw in a sample.
  struct Context {
    std::shared_ptr<const AlluxioConf> conf;
    ExpectedDevices expected;
    NetSnapshot net;
    std::set<uint16_t> listen_ports;
  };

  Status SampleLocked();
  std::optional<FlowKey> Classify(const TcpSocket& s, RouteCache& routes);
  Listener DescribeListener(const TcpSocket& s) const;
  void NoticeLoop();
  void Export(MetricSink& out);

  const std::vector<std::string> flag_devices_;
  const AlluxioConfigState* const config_;
  const std::shared_ptr<const NetnsHandle> netns_;

  std::mutex mu_;  // guards everything below
  ConnLedger ledger_;
  Context ctx_;
  std::vector<uint16_t> ports_;
  std::vector<uint8_t> port_filter_;
  std::set<Listener> listeners_;
  std::unique_ptr<TcpDiag> diag_;
  std::unique_ptr<RouteNetlink> sample_routes_nl_;
  std::unique_ptr<RouteNetlink> notice_routes_nl_;
  uint64_t sampled_sockets_ = 0;
  uint64_t parse_errors_ = 0;
  uint64_t route_failures_ = 0;
  uint64_t sockets_without_counters_ = 0;
  uint64_t notices_ = 0;
  uint64_t notice_overflows_ = 0;
  uint64_t resyncs_ = 0;

  std::unique_ptr<DestroyWatch> watch_;
  int stop_fd_ = -1;
  std::thread notice_thread_;
};

}  // namespace ibpath
