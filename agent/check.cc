#include "agent/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace ibpath {

MetricIndex::MetricIndex(const std::vector<prometheus::MetricFamily>& families) {
  for (const auto& f : families) {
    auto& out = by_name_[f.name];
    for (const auto& m : f.metric) {
      MetricSample s;
      for (const auto& l : m.label) s.labels[l.name] = l.value;
      switch (f.type) {
        case prometheus::MetricType::Counter: s.value = m.counter.value; break;
        case prometheus::MetricType::Gauge: s.value = m.gauge.value; break;
        case prometheus::MetricType::Untyped: s.value = m.untyped.value; break;
        default: continue;
      }
      out.push_back(std::move(s));
    }
  }
}

const std::vector<MetricSample>& MetricIndex::Get(const std::string& name) const {
  static const std::vector<MetricSample> kNone;
  auto it = by_name_.find(name);
  return it == by_name_.end() ? kNone : it->second;
}

std::optional<double> MetricIndex::Value(const std::string& name) const {
  const auto& s = Get(name);
  if (s.empty()) return std::nullopt;
  return s.front().value;
}

std::optional<double> MetricIndex::Sum(const std::string& name) const {
  const auto& samples = Get(name);
  if (samples.empty()) return std::nullopt;
  std::map<std::map<std::string, std::string>, double> distinct;  // a repeated series counts once
  for (const auto& s : samples) distinct[s.labels] = s.value;
  double sum = 0;
  for (const auto& [labels, v] : distinct) sum += v;
  return sum;
}

namespace {

using LabelMap = std::map<std::string, std::string>;
using Sample = MetricSample;

std::string Join(const std::set<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

std::string Label(const Sample& s, const std::string& key) { return s.Label(key); }

CheckResult Make(std::string name, std::string title) {
  CheckResult r;
  r.name = std::move(name);
  r.title = std::move(title);
  return r;
}

struct Context {
  const MetricIndex& m;
  std::set<std::string> expected;  // expected data devices
  std::set<std::string> missing;   // expected but not present
  std::set<std::string> data_roles;
  std::string first_expected() const { return expected.empty() ? "ib0" : *expected.begin(); }
};

CheckResult CheckDrivers(const Context& c) {
  CheckResult r = Make("drivers", "InfiniBand drivers loaded (ib_core, ib_ipoib)");
  if (!c.m.Has("ibpath_kernel_module_loaded")) return r;
  std::set<std::string> loaded, absent;
  for (const auto& s : c.m.Get("ibpath_kernel_module_loaded")) {
    (s.value > 0 ? loaded : absent).insert(Label(s, "module"));
  }
  const bool core = loaded.count("ib_core") && loaded.count("ib_ipoib");
  if (core) {
    r.status = CheckStatus::kOk;
    r.detail = "loaded: " + Join(loaded);
    if (!absent.empty()) r.detail += "; not loaded: " + Join(absent);
    return r;
  }
  r.detail = "not loaded: " + Join(absent);
  r.fix =
      "modprobe ib_ipoib; check `lsmod | grep ib_core` and make the MLNX_OFED/inbox drivers "
      "load on boot";
  // Without IPoIB there can be no IPoIB data device; that is a failure only
  // when a data device is actually missing (a lab or RoCE node may not need
  // the IB drivers).
  r.status = c.missing.empty() ? CheckStatus::kWarn : CheckStatus::kFail;
  return r;
}

CheckResult CheckHcaPorts(const Context& c) {
  CheckResult r = Make("hca_ports", "HCA ports ACTIVE/LinkUp with link layer InfiniBand");
  if (!c.m.Has("ibpath_ib_port_active")) return r;
  std::map<std::pair<std::string, std::string>, LabelMap> info;
  for (const auto& s : c.m.Get("ibpath_ib_port_info")) {
    info[{Label(s, "ca"), Label(s, "port")}] = s.labels;
  }
  std::set<std::string> up, down;
  for (const auto& s : c.m.Get("ibpath_ib_port_active")) {
    const auto key = std::make_pair(Label(s, "ca"), Label(s, "port"));
    const LabelMap& i = info[key];
    auto get = [&](const char* k) {
      auto it = i.find(k);
      return it == i.end() ? std::string("?") : it->second;
    };
    if (get("link_layer") == "Ethernet") continue;  // RoCE: not the IPoIB fabric
    const std::string name = key.first + " port " + key.second;
    if (s.value > 0) {
      up.insert(name);
    } else {
      down.insert(name + " (" + get("state") + ", " + get("phys_state") + ")");
    }
  }
  if (up.empty() && down.empty()) {
    r.detail = "no InfiniBand HCA ports found";
    return r;
  }
  if (down.empty()) {
    r.status = CheckStatus::kOk;
    r.detail = "active: " + Join(up);
    return r;
  }
  r.status = CheckStatus::kFail;
  r.detail = "not active: " + Join(down);
  if (!up.empty()) r.detail += "; active: " + Join(up);
  r.fix =
      "check the cable and switch port, `ibstat` for the port state, and that a subnet "
      "manager runs on the fabric (state INIT means no SM has configured the port)";
  return r;
}

CheckResult CheckDataDevices(const Context& c) {
  CheckResult r = Make("data_devices", "Expected data devices exist and are up");
  if (!c.m.Has("ibpath_datapath_expected_device")) return r;
  if (c.expected.empty()) {
    r.status = CheckStatus::kFail;
    r.detail =
        "no data device is known: no --datapath.devices, no bind.device in the Alluxio "
        "configuration and no InfiniBand interface";
    r.fix =
        "set alluxio.worker.data.bind.device=ib0 (workers) and "
        "alluxio.user.network.data.bind.device=ib0 (clients) in alluxio-site.properties";
    return r;
  }
  std::set<std::string> sources;
  for (const auto& s : c.m.Get("ibpath_datapath_expected_device"))
    sources.insert(Label(s, "source"));
  std::map<std::string, std::string> operstate;
  for (const auto& s : c.m.Get("ibpath_netdev_info")) {
    operstate[Label(s, "device")] = Label(s, "operstate");
  }
  std::set<std::string> down, ok;
  for (const auto& d : c.expected) {
    if (c.missing.count(d)) continue;
    const auto it = operstate.find(d);
    const std::string state = it == operstate.end() ? "?" : it->second;
    (state == "down" || state == "lowerlayerdown" ? down : ok).insert(d + " (" + state + ")");
  }
  if (c.missing.empty() && down.empty()) {
    r.status = CheckStatus::kOk;
    r.detail = Join(ok) + " from " + Join(sources);
    return r;
  }
  r.status = CheckStatus::kFail;
  std::string d;
  if (!c.missing.empty()) d = "missing: " + Join(c.missing);
  if (!down.empty()) d += std::string(d.empty() ? "" : "; ") + "down: " + Join(down);
  r.detail = d;
  const std::string dev = c.missing.empty() ? *c.expected.begin() : *c.missing.begin();
  r.fix = fmt::format(
      "`ip addr show {0}`; if {0} is gone after a reboot, check `lsmod | grep ib_core` and that "
      "its MTU and bonding are persisted in the network configuration; if the name differs, fix "
      "the bind.device settings (the name is case-sensitive)",
      dev);
  return r;
}

CheckResult CheckIpoibMtu(const Context& c) {
  CheckResult r = Make("ipoib_mtu", "IPoIB mode and MTU");
  if (!c.m.Has("ibpath_ipoib_mode")) return r;
  std::map<std::string, std::string> mode;
  for (const auto& s : c.m.Get("ibpath_ipoib_mode")) {
    if (s.value > 0) mode[Label(s, "device")] = Label(s, "mode");
  }
  if (mode.empty()) {
    r.detail = "no IPoIB interfaces";
    return r;
  }
  std::map<std::string, double> mtu;
  for (const auto& s : c.m.Get("ibpath_netdev_mtu_bytes")) mtu[Label(s, "device")] = s.value;
  std::set<std::string> below;
  for (const auto& s : c.m.Get("ibpath_ipoib_mtu_below_expected")) {
    if (s.value > 0) below.insert(Label(s, "device"));
  }
  std::set<std::string> parts;
  for (const auto& [dev, md] : mode) {
    auto it = mtu.find(dev);
    parts.insert(fmt::format(
        "{} {} mtu {}", dev, md,
        it == mtu.end() ? std::string("?") : std::to_string(static_cast<long>(it->second))));
  }
  r.detail = Join(parts);
  if (below.empty()) {
    r.status = CheckStatus::kOk;
    return r;
  }
  r.status = CheckStatus::kWarn;
  const std::string dev = *below.begin();
  r.fix = fmt::format(
      "in connected mode set `ip link set {0} mtu 9000` and persist it; in datagram mode 2044 is "
      "the hardware maximum and correct (`cat /sys/class/net/{0}/mode`)",
      dev);
  return r;
}

CheckResult CheckBonds(const Context& c) {
  CheckResult r = Make("bonds", "Bond members all active");
  if (!c.m.Has("ibpath_bond_slaves")) return r;
  std::map<std::string, double> active;
  for (const auto& s : c.m.Get("ibpath_bond_active_slaves")) active[Label(s, "bond")] = s.value;
  std::set<std::string> ok, degraded;
  for (const auto& s : c.m.Get("ibpath_bond_slaves")) {
    const std::string b = Label(s, "bond");
    const double a = active.count(b) ? active[b] : 0;
    const std::string text = fmt::format("{} {}/{} active", b, a, s.value);
    (a < s.value ? degraded : ok).insert(text);
  }
  if (ok.empty() && degraded.empty()) {
    r.detail = "no bonds";
    return r;
  }
  r.status = degraded.empty() ? CheckStatus::kOk : CheckStatus::kFail;
  r.detail = degraded.empty() ? Join(ok) : "degraded: " + Join(degraded);
  if (!degraded.empty()) {
    r.fix =
        "check the down member's HCA port (`ibstat`) and `cat /proc/net/bonding/<bond>`; "
        "persist the bonding configuration";
  }
  return r;
}

CheckResult CheckListeners(const Context& c) {
  CheckResult r =
      Make("listeners", "Worker listens on the data device's address (ss -tlnp | grep 29999)");
  if (!c.m.Has("ibpath_alluxio_listener_info")) return r;
  std::set<std::string> on, off, wildcard;
  for (const auto& s : c.m.Get("ibpath_alluxio_listener_info")) {
    const std::string role = Label(s, "role");
    if (!c.data_roles.count(role)) continue;
    const std::string text = fmt::format("{} {}:{} on {}", role, Label(s, "address"),
                                         Label(s, "port"), Label(s, "device"));
    if (Label(s, "device") == "any") {
      wildcard.insert(text);
    } else {
      (Label(s, "on_data_device") == "true" ? on : off).insert(text);
    }
  }
  if (on.empty() && off.empty() && wildcard.empty()) {
    r.detail = "no Alluxio worker listens on this node";
    return r;
  }
  const std::string dev = c.first_expected();
  if (!off.empty()) {
    r.status = CheckStatus::kFail;
    r.detail = "not on a data device: " + Join(off);
    r.fix = fmt::format(
        "set alluxio.worker.rpc.bind.device={0} and alluxio.worker.data.bind.device={0} (exact, "
        "case-sensitive name), confirm `ip addr show {0}` has an address, restart the worker and "
        "look for bind errors in alluxio-worker.log",
        dev);
  } else if (!wildcard.empty()) {
    r.status = CheckStatus::kWarn;
    r.detail = "bound to every address, Ethernet included: " + Join(wildcard);
    r.fix = fmt::format("bind the worker to {0}: alluxio.worker.data.bind.device={0}", dev);
  } else {
    r.status = CheckStatus::kOk;
    r.detail = Join(on);
  }
  return r;
}

CheckResult CheckAdvertised(const Context& c) {
  CheckResult r =
      Make("advertised_host", "Advertised hostnames resolve to a data device's address");
  if (!c.m.Has("ibpath_alluxio_advertised_address_info")) return r;
  std::set<std::string> on, off, unresolved;
  for (const auto& s : c.m.Get("ibpath_alluxio_advertised_host_resolved")) {
    if (s.value == 0) unresolved.insert(Label(s, "property") + "=" + Label(s, "host"));
  }
  for (const auto& s : c.m.Get("ibpath_alluxio_advertised_address_info")) {
    const std::string text = fmt::format("{}={} -> {} on {}", Label(s, "property"),
                                         Label(s, "host"), Label(s, "address"), Label(s, "device"));
    (Label(s, "on_data_device") == "true" ? on : off).insert(text);
  }
  if (on.empty() && off.empty() && unresolved.empty()) {
    r.detail = "no advertised hostname configured";
    return r;
  }
  if (off.empty() && unresolved.empty()) {
    r.status = CheckStatus::kOk;
    r.detail = Join(on);
    return r;
  }
  r.status = CheckStatus::kFail;
  std::string d;
  if (!off.empty()) d = "not on a data device: " + Join(off);
  if (!unresolved.empty())
    d += std::string(d.empty() ? "" : "; ") + "unresolved: " + Join(unresolved);
  r.detail = d;
  r.fix = fmt::format(
      "make the hostname resolve (DNS or /etc/hosts) to the address of {0}, or set "
      "alluxio.worker.hostname to that address; clients connect to what the worker advertises",
      c.first_expected());
  return r;
}

CheckResult CheckConnections(const Context& c) {
  CheckResult r = Make("data_connections",
                       "Alluxio data connections leave on a data device (ss -tnp | grep <ib0 IP>)");
  if (!c.m.Has("ibpath_alluxio_connections")) return r;
  std::map<std::string, double> per_device;
  double total = 0;
  for (const auto& s : c.m.Get("ibpath_alluxio_connections")) {
    if (!c.data_roles.count(Label(s, "role"))) continue;
    per_device[Label(s, "device")] += s.value;
    total += s.value;
  }
  // Every namespace's fallback connections (host and pods).
  const double fallback = c.m.Sum("ibpath_alluxio_fallback_connections").value_or(0);
  std::set<std::string> parts, bad;
  for (const auto& [dev, n] : per_device) {
    parts.insert(fmt::format("{} on {}", n, dev));
    if (!c.expected.count(dev)) bad.insert(dev);
  }
  if (total == 0) {
    r.detail = "no Alluxio data connections right now";
    return r;
  }
  r.detail = fmt::format("{} data connection(s): {}", total, Join(parts));
  if (fallback == 0) {
    r.status = CheckStatus::kOk;
    return r;
  }
  r.status = CheckStatus::kFail;
  r.off_fabric = true;
  r.detail = fmt::format("{} of {} data connection(s) leave on {} instead of {}", fallback, total,
                         Join(bad), Join(c.expected));
  const std::string dev = c.first_expected();
  r.fix = fmt::format(
      "verify alluxio.worker.data.bind.device={0} on each worker (restart after the change) and "
      "alluxio.user.network.data.bind.device={0} on FUSE/client nodes; if both are set, check "
      "`ip route get <peer> from <{0} address>` and `ip rule` for a route sending the peer "
      "over {1}",
      dev, bad.empty() ? std::string("another device") : *bad.begin());
  return r;
}

CheckResult CheckConfig(const Context& c) {
  CheckResult r = Make("alluxio_config", "alluxio-site.properties read without problems");
  auto ok = c.m.Value("ibpath_alluxio_config_last_reload_success");
  if (!ok) return r;
  std::string path = "none";
  for (const auto& s : c.m.Get("ibpath_alluxio_config_info")) path = Label(s, "path");
  const double problems = c.m.Value("ibpath_alluxio_config_problems").value_or(0);
  if (*ok > 0) {
    r.status = CheckStatus::kOk;
    r.detail = path == "none" ? "no file found; Alluxio's defaults" : path;
    return r;
  }
  r.status = CheckStatus::kWarn;
  r.detail = fmt::format("{}: {} problem(s) in the last read", path, problems);
  r.fix =
      "the agent's log names each bad line as file:line; fix them (the agent keeps judging "
      "against the last good version)";
  return r;
}

CheckResult CheckCollectors(const Context& c) {
  CheckResult r = Make("agent", "Every collector read what it tried to read");
  if (!c.m.Has("ibpath_collector_success")) return r;
  std::set<std::string> failed, ok;
  for (const auto& s : c.m.Get("ibpath_collector_success")) {
    (s.value > 0 ? ok : failed).insert(Label(s, "collector"));
  }
  r.status = failed.empty() ? CheckStatus::kOk : CheckStatus::kWarn;
  r.detail = failed.empty() ? Join(ok) : "failed: " + Join(failed);
  if (!failed.empty()) {
    r.fix =
        "run with --log.level=debug for the reason; missing privileges (CAP_NET_ADMIN) or an "
        "unreadable --path.sysfs are the usual causes";
  }
  return r;
}

CheckResult CheckProbe(const Context& c) {
  CheckResult r = Make("probe", "A read through a worker arrives over a data device");
  auto success = c.m.Value("ibpath_probe_success");
  if (!success) {
    r.detail = "no probe configured (--probe.url or --probe.path)";
    return r;
  }
  std::set<std::string> reasons, devices;
  for (const auto& s : c.m.Get("ibpath_probe_failure_info")) {
    if (s.value > 0) reasons.insert(Label(s, "reason"));
  }
  for (const auto& s : c.m.Get("ibpath_probe_device_info")) devices.insert(Label(s, "device"));
  const double on_data = c.m.Value("ibpath_probe_on_data_device").value_or(0);
  const double tput = c.m.Value("ibpath_probe_throughput_bytes_per_second").value_or(0);
  if (*success > 0 && on_data > 0) {
    r.status = CheckStatus::kOk;
    r.detail = fmt::format("{:.1f} MiB/s over {}", tput / (1 << 20), Join(devices));
    return r;
  }
  r.status = CheckStatus::kFail;
  r.off_fabric = *success > 0 || reasons.count("route_not_data_device") ||
                 reasons.count("rx_not_on_data_device");
  if (r.off_fabric) {
    // Where the bytes arrived: the interfaces whose receive counters moved
    // by at least half of what the probe read.
    const double read = c.m.Value("ibpath_probe_bytes").value_or(0);
    std::set<std::string> arrived;
    for (const auto& s : c.m.Get("ibpath_probe_interface_receive_bytes")) {
      if (read > 0 && s.value >= read / 2) arrived.insert(Label(s, "device"));
    }
    r.detail = fmt::format(
        "the read worked, but its socket routes over {} and its bytes arrived on {} ({})",
        devices.empty() ? std::string("?") : Join(devices),
        arrived.empty() ? std::string("no single interface") : Join(arrived),
        reasons.empty() ? std::string("-") : Join(reasons));
    r.fix = fmt::format(
        "the path between this node and the worker leaves {0}: check `ip route get <worker "
        "address> from <{0} address>` here and, on the worker, the route back to this node's {0} "
        "address",
        c.first_expected());
  } else {
    r.detail = "read failed: " + (reasons.empty() ? std::string("unknown") : Join(reasons));
    r.fix =
        "check the worker is up and reachable on its data device address; compare with "
        "`iperf3 -c <worker ib0 IP>`";
  }
  return r;
}

}  // namespace

std::vector<CheckResult> EvaluateChecks(const std::vector<prometheus::MetricFamily>& families) {
  MetricIndex m(families);
  Context c{m, {}, {}, {}};
  for (const auto& s : m.Get("ibpath_datapath_expected_device"))
    c.expected.insert(Label(s, "device"));
  for (const auto& s : m.Get("ibpath_datapath_expected_device_present")) {
    if (s.value == 0) c.missing.insert(Label(s, "device"));
  }
  for (const auto& s : m.Get("ibpath_alluxio_port_info")) {
    if (Label(s, "data_path") == "true") c.data_roles.insert(Label(s, "role"));
  }
  // In the order the seed has the operator go: prerequisites, MTU, binding,
  // end-to-end.
  return {CheckDrivers(c),     CheckHcaPorts(c), CheckDataDevices(c), CheckIpoibMtu(c),
          CheckBonds(c),       CheckConfig(c),   CheckListeners(c),   CheckAdvertised(c),
          CheckConnections(c), CheckProbe(c),    CheckCollectors(c)};
}

bool Healthy(const std::vector<CheckResult>& results) {
  return std::none_of(results.begin(), results.end(),
                      [](const CheckResult& r) { return r.status == CheckStatus::kFail; });
}

DataPathVerdict JudgeDataPath(const std::vector<CheckResult>& results) {
  bool seen_on_fabric = false;
  for (const auto& r : results) {
    if (r.off_fabric) return DataPathVerdict::kFallback;
    if ((r.name == "data_connections" || r.name == "probe") && r.status == CheckStatus::kOk) {
      seen_on_fabric = true;
    }
  }
  return seen_on_fabric ? DataPathVerdict::kOnFabric : DataPathVerdict::kUnknown;
}

std::string_view CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kOk: return "OK";
    case CheckStatus::kWarn: return "WARN";
    case CheckStatus::kFail: return "FAIL";
    case CheckStatus::kSkip: return "SKIP";
  }
  return "?";
}

std::string FormatChecksText(const std::vector<CheckResult>& results) {
  std::string out;
  for (const auto& r : results) {
    out += fmt::format("[{:<4}] {:<16} {}\n", CheckStatusName(r.status), r.name,
                       r.detail.empty() ? r.title : r.detail);
    if ((r.status == CheckStatus::kFail || r.status == CheckStatus::kWarn) && !r.fix.empty()) {
      out += fmt::format("       {:<16} fix: {}\n", "", r.fix);
    }
  }
  out += Healthy(results) ? "data path: healthy\n" : "data path: UNHEALTHY\n";
  return out;
}

std::string FormatChecksJson(const std::vector<CheckResult>& results) {
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const auto& r : results) {
    checks.push_back({{"name", r.name},
                      {"title", r.title},
                      {"status", CheckStatusName(r.status)},
                      {"detail", r.detail},
                      {"fix", r.fix}});
  }
  nlohmann::ordered_json doc = {{"healthy", Healthy(results)}, {"checks", checks}};
  return doc.dump(2) + "\n";
}

}  // namespace ibpath
