#include "collectors/probe.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "collectors/fuse_probe.h"
#include "collectors/source/http_fetch.h"

namespace ibpath {
namespace {

constexpr const char* kClientBindDeviceKey = "alluxio.user.network.data.bind.device";

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The address to bind to on `device`: IPv4 first (what Alluxio's Java
// client prefers), then a global IPv6 address.
std::optional<IpAddress> DeviceAddress(const NetSnapshot& net, const Link& device) {
  std::optional<IpAddress> v6;
  for (const LinkAddress& a : net.addresses) {
    if (a.ifindex != device.ifindex) continue;
    if (a.address.family == AF_INET) return a.address;
    if (!v6 && !a.address.IsLinkLocal()) v6 = a.address;
  }
  return v6;
}

}  // namespace

PathVerdict JudgePath(std::string_view route_device, const ExpectedDevices& expected,
                      const NetSnapshot& net, const std::map<std::string, uint64_t>& rx_delta,
                      uint64_t bytes_read) {
  PathVerdict v;
  if (route_device.empty()) {
    v.reason = "route_unknown";
    return v;
  }
  if (expected.Covers(net, route_device)) {
    auto it = rx_delta.find(std::string(route_device));
    const uint64_t received = it == rx_delta.end() ? 0 : it->second;
    if (bytes_read > 0 && received >= bytes_read) {
      v.on_data_device = true;
    } else {
      v.reason = "rx_not_on_data_device";
    }
    return v;
  }
  const Link* link = net.ByName(route_device);
  if (link != nullptr && link->transport == Transport::kLoopback) {
    v.local_only = true;  // a co-located worker: not a fallback, but not the fabric either
    return v;
  }
  v.reason = "route_not_data_device";
  return v;
}

std::map<std::string, uint64_t> ReceiveDeltas(const std::vector<Link>& before,
                                              const std::vector<Link>& after) {
  std::map<int, const Link*> by_index;
  for (const Link& l : before) by_index[l.ifindex] = &l;
  std::map<std::string, uint64_t> out;
  for (const Link& l : after) {
    auto it = by_index.find(l.ifindex);
    if (it == by_index.end() || it->second->name != l.name) continue;
    if (!l.stats || !it->second->stats) continue;
    const uint64_t a = it->second->stats->rx_bytes, b = l.stats->rx_bytes;
    if (b > a) out[l.name] = b - a;
  }
  return out;
}

ProbeOutcome RunHttpProbe(const std::string& url, uint64_t bytes, const ProbeSettings& settings,
                          const std::atomic<bool>* cancel) {
  ProbeOutcome o;
  o.target = url;
  auto fail = [&](std::string reason, std::string detail) {
    o.reason = std::move(reason);
    o.detail = std::move(detail);
    o.unix_time = UnixNow();
    return o;
  };
  auto nl = RouteNetlink::Open();
  if (!nl.ok()) return fail("agent", nl.status().message());
  auto before = (*nl)->ReadSnapshot();
  if (!before.ok()) return fail("agent", before.status().message());
  std::shared_ptr<const AlluxioConf> conf =
      settings.config != nullptr ? settings.config->Current()
                                 : std::make_shared<const AlluxioConf>(DefaultAlluxioConf());

  std::string device = settings.device;
  if (device.empty()) {
    for (const auto& [key, dev] : conf->bind_devices) {
      if (key == kClientBindDeviceKey) device = dev;
    }
  }
  FetchRequest req;
  req.url = url;
  req.max_bytes = bytes;
  req.timeout = settings.timeout;
  req.cancel = cancel;
  if (!device.empty()) {
    const Link* link = before->ByName(device);
    if (link == nullptr) return fail("bind", "probe device " + device + " does not exist");
    if (settings.pin_device) {
      req.pin_device = device;
      o.bind = device;
    } else {
      std::optional<IpAddress> addr = DeviceAddress(*before, *link);
      if (!addr) return fail("bind", "probe device " + device + " has no address");
      req.bind_address = addr->ToString();
      o.bind = req.bind_address;
    }
  }

  FetchResult f = Fetch(req);
  auto after = (*nl)->ReadLinks();

  o.http_status = f.http_status;
  RecordTransfer(o, f.body_bytes, f.connect_seconds, f.first_byte_seconds, f.transfer_seconds);
  o.tcp_bytes_received = f.socket.tcp_bytes_received;
  if (after.ok()) o.rx_delta = ReceiveDeltas(before->links, *after);

  std::string route_device;
  std::string route_error;
  if (f.socket.known) {
    RouteQuery q{f.socket.local, f.socket.peer, f.socket.bound_ifindex, f.socket.mark,
                 static_cast<uint32_t>(getuid())};
    Result<int> oif = (*nl)->LookupRoute(q);
    if (oif.ok()) {
      route_device = EgressDeviceName(*before, *oif);
      const Link* link = before->ByIndex(*oif);
      o.device = route_device;
      o.transport =
          std::string(TransportName(link != nullptr ? link->transport : Transport::kOther));
    } else {
      route_error = oif.status().message();
    }
  }
  const ExpectedDevices expected =
      ResolveExpectedDevices(settings.datapath_devices, *conf, *before);
  const PathVerdict verdict = JudgePath(route_device, expected, *before, o.rx_delta, o.bytes);
  // A failed read proves nothing about the path, whatever bytes it got.
  o.on_data_device = verdict.on_data_device && f.reason.empty();

  if (!f.reason.empty()) {
    o.reason = f.reason;
    o.detail = f.error;
  } else if (!after.ok()) {
    o.reason = "agent";
    o.detail = after.status().message();
  } else if (!verdict.reason.empty()) {
    o.reason = verdict.reason;
    if (verdict.reason == "route_unknown") {
      o.detail = route_error.empty() ? "body socket not identified" : route_error;
    } else if (verdict.reason == "route_not_data_device") {
      o.detail = "body socket routes over " + route_device + ", not an expected data device";
    } else {
      auto it = o.rx_delta.find(route_device);
      o.detail = route_device + " received " +
                 std::to_string(it == o.rx_delta.end() ? 0 : it->second) + " bytes, fewer than " +
                 std::to_string(o.bytes) + " read";
    }
  }
  o.success = o.reason.empty();
  o.unix_time = UnixNow();
  return o;
}

void RecordTransfer(ProbeOutcome& o, uint64_t bytes, double connect_seconds,
                    double first_byte_seconds, double transfer_seconds) {
  o.bytes = bytes;
  o.connect_seconds = connect_seconds;
  o.first_byte_seconds = first_byte_seconds;
  o.transfer_seconds = transfer_seconds;
  const double body_time = first_byte_seconds + transfer_seconds;
  if (body_time > 0) o.throughput_bytes_per_second = static_cast<double>(bytes) / body_time;
}

void ExportProbe(const ProbeOutcome* o, MetricSink& out) {
  using prometheus::MetricType;
  static constexpr const char* kSuccess =
      "1 if the last probe read its bytes and they came over an expected data device (or over "
      "loopback from a co-located worker).";
  static constexpr const char* kDuration =
      "Duration of each phase of the last probe: connect (DNS, redirects and TLS included), "
      "first_byte, transfer.";
  static constexpr const char* kBytes = "Body bytes the last probe read.";
  static constexpr const char* kThroughput =
      "Body bytes per second of the last probe, from first to last byte.";
  static constexpr const char* kOnData =
      "1 if the last probe's socket routes over an expected data device and that device "
      "received at least the bytes read.";
  static constexpr const char* kDevice =
      "The device the kernel routes the last probe's body socket over, and its transport.";
  static constexpr const char* kStatus = "HTTP status of the last probe's final response.";
  static constexpr const char* kLastRun = "Unix time the last probe ended.";
  static constexpr const char* kFailure =
      "Why the last probe failed: dns, connect, timeout, tls, bind, redirect, bad_url, network, "
      "short_read, empty_reply, http_status, route_unknown, route_not_data_device, "
      "rx_not_on_data_device, cancelled, agent, error; FUSE probes also fuse_open, not_fuse, "
      "fuse_read, fuse_stuck, no_network_read.";
  static constexpr const char* kRx =
      "Bytes each interface received during the last probe (interfaces that received any).";
  static constexpr const char* kTcp =
      "Bytes the last probe's body socket received according to tcp_info (headers included); "
      "for a FUSE probe, what the FUSE daemon's worker connections received during the read.";
  static constexpr const char* kBypass =
      "How the last FUSE probe bypassed the page cache: o_direct, or fadvise (cached pages "
      "dropped with POSIX_FADV_DONTNEED before reading).";
  out.Declare("ibpath_probe_success", kSuccess, MetricType::Gauge);
  out.Declare("ibpath_probe_duration_seconds", kDuration, MetricType::Gauge);
  out.Declare("ibpath_probe_bytes", kBytes, MetricType::Gauge);
  out.Declare("ibpath_probe_throughput_bytes_per_second", kThroughput, MetricType::Gauge);
  out.Declare("ibpath_probe_on_data_device", kOnData, MetricType::Gauge);
  out.Declare("ibpath_probe_device_info", kDevice, MetricType::Gauge);
  out.Declare("ibpath_probe_http_status_code", kStatus, MetricType::Gauge);
  out.Declare("ibpath_probe_last_run_timestamp_seconds", kLastRun, MetricType::Gauge);
  out.Declare("ibpath_probe_failure_info", kFailure, MetricType::Gauge);
  out.Declare("ibpath_probe_interface_receive_bytes", kRx, MetricType::Gauge);
  out.Declare("ibpath_probe_tcp_received_bytes", kTcp, MetricType::Gauge);
  out.Declare("ibpath_probe_cache_bypass_info", kBypass, MetricType::Gauge);
  if (o == nullptr) return;
  // HTTP series keep the labels they had before FUSE probes existed.
  const bool http = o->kind == "http";
  auto with = [&](Labels extra) {
    Labels l;
    if (!http) l.emplace_back("kind", o->kind);
    for (auto& e : extra) l.push_back(std::move(e));
    return l;
  };
  out.Gauge("ibpath_probe_success", kSuccess, with({}), o->success ? 1 : 0);
  out.Gauge("ibpath_probe_duration_seconds", kDuration, with({{"phase", "connect"}}),
            o->connect_seconds);
  out.Gauge("ibpath_probe_duration_seconds", kDuration, with({{"phase", "first_byte"}}),
            o->first_byte_seconds);
  out.Gauge("ibpath_probe_duration_seconds", kDuration, with({{"phase", "transfer"}}),
            o->transfer_seconds);
  out.Gauge("ibpath_probe_bytes", kBytes, with({}), static_cast<double>(o->bytes));
  out.Gauge("ibpath_probe_throughput_bytes_per_second", kThroughput, with({}),
            o->throughput_bytes_per_second);
  out.Gauge("ibpath_probe_on_data_device", kOnData, with({}), o->on_data_device ? 1 : 0);
  if (!o->device.empty()) {
    out.Gauge("ibpath_probe_device_info", kDevice,
              with({{"device", o->device}, {"transport", o->transport}}), 1);
  }
  if (http) {
    out.Gauge("ibpath_probe_http_status_code", kStatus, {}, static_cast<double>(o->http_status));
  }
  out.Gauge("ibpath_probe_last_run_timestamp_seconds", kLastRun, with({}), o->unix_time);
  if (!o->reason.empty())
    out.Gauge("ibpath_probe_failure_info", kFailure, with({{"reason", o->reason}}), 1);
  for (const auto& [dev, n] : o->rx_delta) {
    out.Gauge("ibpath_probe_interface_receive_bytes", kRx, with({{"device", dev}}),
              static_cast<double>(n));
  }
  if (o->tcp_bytes_received) {
    out.Gauge("ibpath_probe_tcp_received_bytes", kTcp, with({}),
              static_cast<double>(*o->tcp_bytes_received));
  }
  if (!o->cache_bypass.empty()) {
    out.Gauge("ibpath_probe_cache_bypass_info", kBypass, with({{"method", o->cache_bypass}}), 1);
  }
}

ProbeCollector::ProbeCollector(Options options) : options_(std::move(options)) {}

ProbeCollector::~ProbeCollector() { Stop(); }

void ProbeCollector::Start() {
  if ((options_.url.empty() && options_.fuse_path.empty()) || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void ProbeCollector::Stop() {
  stop_ = true;  // also cancels a probe in flight, on-demand ones included
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProbeCollector::Loop() {
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    // With both configured, the HTTP probe then the FUSE probe, one after
    // the other: concurrent reads would count in each other's windows.
    if (!options_.url.empty()) {
      Record(RunHttpProbe(options_.url, options_.bytes, options_.settings, &stop_));
    }
    if (!options_.fuse_path.empty() && !stop_) {
      Record(FuseProbe(options_.fuse_path, options_.bytes));
    }
    std::unique_lock<std::mutex> lock(mu_);
    // Runs start `interval` apart; a run longer than that starts the next at once.
    next += options_.interval;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;
    wake_.wait_until(lock, next, [this] { return stop_.load(); });
  }
}

void ProbeCollector::Record(ProbeOutcome o) {
  if (o.success) {
    spdlog::debug("{} probe {}: {} bytes at {:.0f} B/s over {}", o.kind, o.target, o.bytes,
                  o.throughput_bytes_per_second, o.device);
  } else if (o.reason != "cancelled") {
    spdlog::warn("{} probe {} failed ({}): {}", o.kind, o.target, o.reason, o.detail);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++runs_;
  if (!o.success) ++failures_;
  auto& slot = o.kind == "fuse" ? last_fuse_ : last_;
  slot = std::make_shared<const ProbeOutcome>(std::move(o));
}

ProbeOutcome ProbeCollector::FuseProbe(const std::string& path, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(fuse_mu_);
  return RunFuseProbe(path, bytes, options_.settings, options_.fuse_sampler, &stop_);
}

Status ProbeCollector::Collect(MetricSink& out) {
  std::shared_ptr<const ProbeOutcome> last, last_fuse;
  uint64_t runs, failures, rejected;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last = last_;
    last_fuse = last_fuse_;
    runs = runs_;
    failures = failures_;
    rejected = rejected_;
  }
  ExportProbe(last.get(), out);
  if (last_fuse) ExportProbe(last_fuse.get(), out);
  out.Gauge("ibpath_probe_scheduled",
            "1 if a scheduled probe is configured (--probe.url or --probe.fuse-path).", {},
            options_.url.empty() && options_.fuse_path.empty() ? 0 : 1);
  out.Counter("ibpath_probe_runs_total", "Scheduled probe runs.", {}, static_cast<double>(runs));
  out.Counter("ibpath_probe_failures_total", "Scheduled probe runs that failed.", {},
              static_cast<double>(failures));
  out.Counter("ibpath_probe_on_demand_rejected_total",
              "On-demand probes refused (503) because the maximum were already running.", {},
              static_cast<double>(rejected));
  return Status::Ok();
}

std::optional<ProbeOutcome> ProbeCollector::RunOnDemand(const std::string& url, uint64_t bytes) {
  if (on_demand_running_.fetch_add(1) >= options_.max_on_demand) {
    on_demand_running_.fetch_sub(1);
    std::lock_guard<std::mutex> lock(mu_);
    ++rejected_;
    return std::nullopt;
  }
  ProbeOutcome o = RunHttpProbe(url, bytes, options_.settings, &stop_);
  on_demand_running_.fetch_sub(1);
  return o;
}

std::optional<ProbeOutcome> ProbeCollector::RunOnDemandFuse(const std::string& path,
                                                            uint64_t bytes) {
  if (on_demand_running_.fetch_add(1) >= options_.max_on_demand) {
    on_demand_running_.fetch_sub(1);
    std::lock_guard<std::mutex> lock(mu_);
    ++rejected_;
    return std::nullopt;
  }
  ProbeOutcome o = FuseProbe(path, bytes);
  on_demand_running_.fetch_sub(1);
  return o;
}

}  // namespace ibpath
