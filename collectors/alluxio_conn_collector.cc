#include "collectors/alluxio_conn_collector.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <map>

namespace ibpath {
namespace {

constexpr const char* kConnHelp =
    "Alluxio TCP connections alive at the last sample, by role, side and the device the kernel "
    "routes their egress over.";
constexpr const char* kBytesHelp =
    "Bytes of Alluxio connections by role, side and egress device; transmit counts bytes acked "
    "by the peer, receive bytes received.";
constexpr const char* kListenerHelp =
    "Alluxio listening sockets, the device owning their address (any for a wildcard bind) and "
    "whether it is an expected data device.";

const char* Bool(bool b) { return b ? "true" : "false"; }

}  // namespace

AlluxioConnCollector::AlluxioConnCollector(std::vector<std::string> flag_devices,
                                           const AlluxioConfigState* config,
                                           std::shared_ptr<const NetnsHandle> netns)
    : flag_devices_(std::move(flag_devices)), config_(config), netns_(std::move(netns)) {}

AlluxioConnCollector::~AlluxioConnCollector() { Stop(); }

void AlluxioConnCollector::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto nl = OpenIn<RouteNetlink>(netns_.get());
    if (nl.ok()) {
      notice_routes_nl_ = std::move(*nl);
    }
    auto watch = OpenIn<DestroyWatch>(netns_.get());
    if (watch.ok()) {
      watch_ = std::move(*watch);
    } else {
      spdlog::warn("{}; connections that open and close between two samples will be missed",
                   watch.status().message());
    }
    Status s = SampleLocked();
    if (!s.ok()) spdlog::warn("baseline sample of Alluxio connections: {}", s.message());
  }
  if (watch_ && notice_routes_nl_) {
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ >= 0) notice_thread_ = std::thread([this] { NoticeLoop(); });
  }
}

void AlluxioConnCollector::Stop() {
  if (notice_thread_.joinable()) {
    uint64_t one = 1;
    ssize_t ignored = write(stop_fd_, &one, sizeof(one));
    (void)ignored;
    notice_thread_.join();
  }
  if (stop_fd_ >= 0) {
    close(stop_fd_);
    stop_fd_ = -1;
  }
}

void AlluxioConnCollector::NoticeLoop() {
  RouteCache routes(notice_routes_nl_.get());
  for (;;) {
    pollfd fds[2] = {{watch_->fd(), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("destroy notices: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    routes.Clear();  // routes may have changed since the last batch
    auto drained = watch_->Drain([&](const TcpSocket& s) {
      if (!s.bytes_acked || !s.bytes_received) return;
      ledger_.Destroyed(s.cookie, *s.bytes_acked, *s.bytes_received,
                        [&] { return Classify(s, routes); });
    });
    if (!drained.ok()) {
      spdlog::error("{}", drained.status().message());
      continue;
    }
    notices_ += drained->notices;
    parse_errors_ += drained->parse_errors;
    if (drained->overflowed) {
      // The kernel dropped notices (ENOBUFS): connections that closed since
      // their last sample lose their final bytes. Resynchronise at once from
      // a full dump, so that every connection still open is brought up to
      // date before it, too, can close unseen; the ledger counts each byte
      // once whichever path reports it.
      ++notice_overflows_;
      if (notice_overflows_ == 1 || notice_overflows_ % 100 == 0) {
        spdlog::warn(
            "socket-destroy notices overflowed the receive buffer ({} bytes; {} times "
            "so far); resynchronising from a dump",
            watch_->receive_buffer(), notice_overflows_);
      }
      if (Status s = SampleLocked(); !s.ok()) {
        spdlog::warn("resynchronising after lost notices: {}", s.message());
      } else {
        ++resyncs_;
      }
    }
  }
}

std::optional<FlowKey> AlluxioConnCollector::Classify(const TcpSocket& s, RouteCache& routes) {
  if (!ctx_.conf) return std::nullopt;
  const PortRole* local = ctx_.conf->RoleForPort(s.local_port);
  const PortRole* remote = ctx_.conf->RoleForPort(s.remote_port);
  const PortRole* role = nullptr;
  FlowKey key;
  // A local port that has a listener here makes this the accepting side,
  // even when the peer's ephemeral port happens to equal an Alluxio port.
  if (local != nullptr && (remote == nullptr || ctx_.listen_ports.count(s.local_port) != 0)) {
    role = local;
    key.side = Side::kServer;
  } else if (remote != nullptr) {
    role = remote;
    key.side = Side::kClient;
  } else {
    return std::nullopt;
  }
  key.role = role->role;

  RouteQuery q{s.local, s.remote, s.bound_ifindex, s.mark.value_or(0), s.uid};
  Result<int> oif = routes.Lookup(q);
  if (!oif.ok()) {
    ++route_failures_;
    key.device = "unknown";
    return key;
  }
  const Link* link = ctx_.net.ByIndex(*oif);
  key.device = EgressDeviceName(ctx_.net, *oif);
  // Traffic between two sockets of this node never touches a NIC, so it is
  // not a fallback (the seed's co-located FUSE and worker talk over lo).
  const bool local_only = link != nullptr && link->transport == Transport::kLoopback;
  key.fallback = role->data_path && !local_only && !ctx_.expected.Covers(ctx_.net, key.device);
  return key;
}

AlluxioConnCollector::Listener AlluxioConnCollector::DescribeListener(const TcpSocket& s) const {
  Listener l;
  const PortRole* role = ctx_.conf->RoleForPort(s.local_port);
  l.role = role != nullptr ? role->role : "unknown";
  l.address = s.local.ToString();
  l.port = s.local_port;
  if (s.bound_ifindex != 0) {
    l.device = ctx_.net.NameOf(static_cast<int>(s.bound_ifindex));
  } else if (s.local.IsUnspecified()) {
    l.device = "any";
  } else if (const Link* owner = ctx_.net.OwnerOf(s.local)) {
    l.device = owner->name;
  } else {
    l.device = "unknown";
  }
  // A wildcard listener accepts on every device, Ethernet included: the
  // seed's check wants the data port bound to the fabric address.
  l.on_data_device = l.device != "any" && ctx_.expected.Covers(ctx_.net, l.device);
  return l;
}

Status AlluxioConnCollector::SampleLocked() {
  if (!diag_) {
    auto d = OpenIn<TcpDiag>(netns_.get());
    if (!d.ok()) return d.status();
    diag_ = std::move(*d);
  }
  if (!sample_routes_nl_) {
    auto nl = OpenIn<RouteNetlink>(netns_.get());
    if (!nl.ok()) return nl.status();
    sample_routes_nl_ = std::move(*nl);
  }
  auto net = sample_routes_nl_->ReadSnapshot();
  if (!net.ok()) {
    sample_routes_nl_.reset();
    return net.status();
  }
  ctx_.conf = config_->Current();
  ctx_.net = std::move(*net);
  ctx_.expected = ResolveExpectedDevices(flag_devices_, *ctx_.conf, ctx_.net);
  std::vector<uint16_t> ports = ctx_.conf->Ports();
  if (ports != ports_) {
    // Sockets on newly watched ports carry bytes from before we watched them.
    if (!ports_.empty()) ledger_.Rebaseline();
    ports_ = ports;
    port_filter_ = BuildPortFilter(ports_);
  }

  RouteCache routes(sample_routes_nl_.get());
  std::set<Listener> listeners;
  std::set<uint16_t> listen_ports;
  ledger_.BeginSample();
  auto dumped = diag_->Dump(port_filter_, [&](const TcpSocket& s) {
    if (s.state == kTcpListen) {
      listen_ports.insert(s.local_port);
      ctx_.listen_ports.insert(s.local_port);  // sockets later in this dump see it
      listeners.insert(DescribeListener(s));
      return;
    }
    std::optional<FlowKey> key = Classify(s, routes);
    if (!key) return;
    if (!s.bytes_acked || !s.bytes_received) {
      ++sockets_without_counters_;
      return;
    }
    ledger_.Observe(s.cookie, *key, *s.bytes_acked, *s.bytes_received);
  });
  ledger_.EndSample(dumped.ok());
  if (!dumped.ok()) {
    diag_.reset();
    return dumped.status();
  }
  ctx_.listen_ports = std::move(listen_ports);
  listeners_ = std::move(listeners);
  sampled_sockets_ = dumped->sockets;
  parse_errors_ += dumped->parse_errors;
  return Status::Ok();
}

void AlluxioConnCollector::Export(MetricSink& out) {
  out.Declare("ibpath_alluxio_connections", kConnHelp, prometheus::MetricType::Gauge);
  out.Declare("ibpath_alluxio_bytes_total", kBytesHelp, prometheus::MetricType::Counter);
  out.Declare("ibpath_alluxio_listener_info", kListenerHelp, prometheus::MetricType::Gauge);

  // The fallback flag is part of a flow's key but not of its labels: merge.
  using LabelKey = std::tuple<std::string, Side, std::string>;
  std::map<LabelKey, uint64_t> conns;
  uint64_t fallback_conns = 0;
  for (const auto& [key, n] : ledger_.LiveConnections()) {
    conns[{key.role, key.side, key.device}] += n;
    if (key.fallback) fallback_conns += n;
  }
  for (const auto& [k, n] : conns) {
    const auto& [role, side, device] = k;
    out.Gauge("ibpath_alluxio_connections", kConnHelp,
              {{"role", role}, {"side", std::string(SideName(side))}, {"device", device}},
              static_cast<double>(n));
  }
  std::map<LabelKey, ConnLedger::Totals> bytes;
  ConnLedger::Totals fallback_bytes;
  for (const auto& [key, t] : ledger_.FlowTotals()) {
    auto& b = bytes[{key.role, key.side, key.device}];
    b.transmit += t.transmit;
    b.receive += t.receive;
    if (key.fallback) {
      fallback_bytes.transmit += t.transmit;
      fallback_bytes.receive += t.receive;
    }
  }
  for (const auto& [k, t] : bytes) {
    const auto& [role, side, device] = k;
    const std::string side_name(SideName(side));
    out.Counter(
        "ibpath_alluxio_bytes_total", kBytesHelp,
        {{"role", role}, {"side", side_name}, {"device", device}, {"direction", "transmit"}},
        static_cast<double>(t.transmit));
    out.Counter("ibpath_alluxio_bytes_total", kBytesHelp,
                {{"role", role}, {"side", side_name}, {"device", device}, {"direction", "receive"}},
                static_cast<double>(t.receive));
  }
  out.Gauge("ibpath_alluxio_fallback_connections",
            "Data-path Alluxio connections whose egress device is not an expected data device.", {},
            static_cast<double>(fallback_conns));
  const char* kFallbackBytesHelp =
      "Bytes of data-path Alluxio connections that left or arrived while their egress device "
      "was not an expected data device.";
  out.Counter("ibpath_alluxio_fallback_bytes_total", kFallbackBytesHelp,
              {{"direction", "transmit"}}, static_cast<double>(fallback_bytes.transmit));
  out.Counter("ibpath_alluxio_fallback_bytes_total", kFallbackBytesHelp, {{"direction", "receive"}},
              static_cast<double>(fallback_bytes.receive));

  for (const Listener& l : listeners_) {
    out.Gauge("ibpath_alluxio_listener_info", kListenerHelp,
              {{"role", l.role},
               {"address", l.address},
               {"port", std::to_string(l.port)},
               {"device", l.device},
               {"on_data_device", Bool(l.on_data_device)}},
              1);
  }

  out.Gauge("ibpath_alluxio_sampled_sockets",
            "Alluxio sockets (listeners included) in the last sock_diag dump.", {},
            static_cast<double>(sampled_sockets_));
  out.Gauge("ibpath_alluxio_tracked_sockets", "Sockets the byte ledger is following.", {},
            static_cast<double>(ledger_.tracked_sockets()));
  out.Gauge("ibpath_alluxio_close_notices_enabled",
            "1 if the kernel's socket-destroy notices are received; without them connections "
            "shorter than a sample are missed.",
            {}, watch_ ? 1 : 0);
  if (watch_) {
    out.Gauge("ibpath_alluxio_close_notice_buffer_bytes",
              "Receive buffer of the socket-destroy notices as the kernel granted it (large with "
              "CAP_NET_ADMIN, else capped by net.core.rmem_max).",
              {}, watch_->receive_buffer());
  }
  out.Counter("ibpath_socket_resyncs_total",
              "Full dumps taken at once after socket-destroy notices were lost.", {},
              static_cast<double>(resyncs_));
  out.Counter("ibpath_alluxio_close_notices_total", "Socket-destroy notices received.", {},
              static_cast<double>(notices_));
  // Linux quirk: a connection aborted with a reset by its own side
  // (SO_LINGER 0, or unread data at close) goes through tcp_disconnect(),
  // which zeroes tcp_info's byte counters before the destroy notice is sent;
  // what it moved since its last sample cannot be known.
  out.Counter("ibpath_alluxio_socket_byte_resets_total",
              "Sockets whose byte counters went down (a connection aborted by its own side "
              "reports zero in its destroy notice); bytes since their last sample are not "
              "counted.",
              {}, static_cast<double>(ledger_.counter_regressions()));
  out.Counter("ibpath_socket_events_lost_total",
              "Times the kernel dropped socket-destroy notices (ENOBUFS) because they arrived "
              "faster than the agent read them; each is followed by a resynchronising dump.",
              {}, static_cast<double>(notice_overflows_));
  out.Counter("ibpath_alluxio_unaccounted_closes_total",
              "Connections that vanished without a destroy notice; bytes they moved after their "
              "last sample were not counted.",
              {}, static_cast<double>(ledger_.unaccounted_closes()));
  out.Counter("ibpath_alluxio_route_lookup_failures_total",
              "Route lookups the kernel refused; those connections show device=\"unknown\".", {},
              static_cast<double>(route_failures_));
  out.Counter("ibpath_alluxio_socket_parse_errors_total",
              "sock_diag messages skipped as malformed.", {}, static_cast<double>(parse_errors_));
}

Status AlluxioConnCollector::Collect(MetricSink& out) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = SampleLocked();
  Export(out);
  return s;
}

Result<std::map<std::string, uint64_t>> AlluxioConnCollector::ClientReceiveByDevice(
    std::string_view role_prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = SampleLocked(); !s.ok()) return s;
  std::map<std::string, uint64_t> out;
  for (const auto& [key, t] : ledger_.FlowTotals()) {
    if (key.side == Side::kClient && key.role.rfind(role_prefix, 0) == 0) {
      out[key.device] += t.receive;
    }
  }
  return out;
}

}  // namespace ibpath
