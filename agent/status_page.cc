#include "agent/status_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "agent/check.h"

namespace ibpath {

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

using Row = std::map<std::string, std::string>;

constexpr const char* kStyle = R"css(
body{font-family:sans-serif;margin:1.5em;color:#1f2328;background:#fff;max-width:75em}
h1{font-size:1.4em;margin:0 0 .2em}
h2{font-size:1.1em;margin:1.6em 0 .4em;border-bottom:1px solid #d0d7de}
.meta{color:#59636e;margin:0 0 1em}
.verdict{padding:.8em 1em;border-radius:6px;color:#fff;margin:.5em 0}
.verdict .head{font-size:1.8em;font-weight:bold}
.verdict p{margin:.3em 0 0}
.fabric{background:#1a7f37}.fallback{background:#cf222e}.unknown{background:#6e7781}
table{border-collapse:collapse;margin:.3em 0}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num{text-align:right}
.ok{color:#1a7f37;font-weight:bold}.warn{color:#9a6700;font-weight:bold}
.fail{color:#cf222e;font-weight:bold}.skip{color:#6e7781}
.none{color:#59636e;font-style:italic}
.fix{color:#59636e;font-size:.9em}
)css";

struct Cell {
  Cell(std::string t) : text(std::move(t)) {}  // NOLINT: implicit on purpose
  Cell(const char* t) : text(t) {}             // NOLINT
  Cell(std::string t, std::string c) : text(std::move(t)), cls(std::move(c)) {}
  std::string text;  // plain text, escaped when rendered
  std::string cls;
};

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void Add(std::vector<Cell> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::string Html() const {
    std::string out = "<table>\n<tr>";
    for (const auto& h : headers_) out += "<th>" + HtmlEscape(h) + "</th>";
    out += "</tr>\n";
    for (const auto& row : rows_) {
      out += "<tr>";
      for (const auto& c : row) {
        out += c.cls.empty() ? "<td>" : "<td class=\"" + HtmlEscape(c.cls) + "\">";
        out += HtmlEscape(c.text) + "</td>";
      }
      out += "</tr>\n";
    }
    return out + "</table>\n";
  }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<Cell>> rows_;
};

std::string None(const std::string& text) {
  return "<p class=\"none\">" + HtmlEscape(text) + "</p>\n";
}

std::string Number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return fmt::format("{}", static_cast<long long>(v));
  }
  return fmt::format("{:.3g}", v);
}

std::string Bytes(double v) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (std::fabs(v) >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? Number(v) + " B" : fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string Utc(double unix_seconds) {
  if (!(unix_seconds > 0)) return "never";
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

bool AnyLabel(const std::vector<MetricSample>& samples, const std::string& key) {
  for (const auto& s : samples) {
    if (s.labels.count(key)) return true;
  }
  return false;
}

// "host", "ibpw-1" or "inode:4026532" with the pod's name when there is one.
std::string Netns(const MetricSample& s) {
  std::string ns = s.Label("netns");
  const std::string pod = s.Label("pod");
  if (!pod.empty()) ns += " (pod " + s.Label("k8s_namespace") + "/" + pod + ")";
  return ns;
}

Cell YesNo(bool yes, bool good_when_yes = true) {
  return Cell(yes ? "yes" : "no", yes == good_when_yes ? "ok" : "fail");
}

std::string StatusClass(CheckStatus s) {
  switch (s) {
    case CheckStatus::kOk: return "ok";
    case CheckStatus::kWarn: return "warn";
    case CheckStatus::kFail: return "fail";
    case CheckStatus::kSkip: return "skip";
  }
  return "";
}

const CheckResult* FindCheck(const std::vector<CheckResult>& results, const std::string& name) {
  for (const auto& r : results) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::string VerdictSection(const std::vector<CheckResult>& checks) {
  const DataPathVerdict v = JudgeDataPath(checks);
  std::string cls, head, why;
  switch (v) {
    case DataPathVerdict::kOnFabric:
      cls = "fabric";
      head = "Data path on fabric";
      break;
    case DataPathVerdict::kFallback:
      cls = "fallback";
      head = "FALLBACK: Alluxio data off the fabric";
      break;
    case DataPathVerdict::kUnknown:
      cls = "unknown";
      head = "Data path unknown";
      why = "no Alluxio data connections right now and no probe result to judge by";
      break;
  }
  std::string out = "<div id=\"verdict\" class=\"verdict " + cls + "\">\n<div class=\"head\">" +
                    HtmlEscape(head) + "</div>\n";
  if (!why.empty()) out += "<p>" + HtmlEscape(why) + "</p>\n";
  for (const char* name : {"data_connections", "probe"}) {
    const CheckResult* r = FindCheck(checks, name);
    if (r == nullptr || r->status == CheckStatus::kSkip) continue;
    out += "<p>" + HtmlEscape(r->name + ": " + r->detail) + "</p>\n";
  }
  int fails = 0, warns = 0;
  for (const auto& r : checks) {
    fails += r.status == CheckStatus::kFail;
    warns += r.status == CheckStatus::kWarn;
  }
  out += "<p>" +
         HtmlEscape(fmt::format("checklist: {} ({} failed, {} warning{})",
                                Healthy(checks) ? "healthy" : "UNHEALTHY", fails, warns,
                                warns == 1 ? "" : "s")) +
         "</p>\n</div>\n";
  return out;
}

std::string ExpectedDevices(const MetricIndex& m) {
  std::string out = "<h2 id=\"expected\">Expected data devices</h2>\n";
  const auto& expected = m.Get("ibpath_datapath_expected_device");
  if (expected.empty()) return out + None("no expected data device known");
  const bool netns = AnyLabel(expected, "netns");
  std::map<std::pair<std::string, std::string>, double> present;
  for (const auto& s : m.Get("ibpath_datapath_expected_device_present")) {
    present[{s.Label("netns"), s.Label("device")}] = s.value;
  }
  std::map<std::pair<std::string, std::string>, std::string> operstate;
  for (const auto& s : m.Get("ibpath_netdev_info")) {
    operstate[{s.Label("netns"), s.Label("device")}] = s.Label("operstate");
  }
  std::vector<std::string> headers = {"device", "source", "present", "state"};
  if (netns) headers.insert(headers.begin(), "netns");
  Table t(headers);
  for (const auto& s : expected) {
    const auto key = std::make_pair(s.Label("netns"), s.Label("device"));
    std::vector<Cell> row = {s.Label("device"), s.Label("source")};
    auto p = present.find(key);
    row.push_back(p == present.end() ? Cell("?") : YesNo(p->second > 0));
    auto o = operstate.find(key);
    row.push_back(o == operstate.end() ? "?" : o->second);
    if (netns) row.insert(row.begin(), Netns(s));
    t.Add(std::move(row));
  }
  return out + t.Html();
}

std::string Ipoib(const MetricIndex& m) {
  std::string out = "<h2 id=\"ipoib\">IPoIB interfaces</h2>\n";
  if (!m.Has("ibpath_ipoib_mode")) return out + None("IPoIB collector not available");
  std::map<std::string, Row> dev;
  std::vector<std::string> order;
  for (const auto& s : m.Get("ibpath_ipoib_mode")) {
    if (s.value <= 0) continue;
    const std::string d = s.Label("device");
    if (!dev.count(d)) order.push_back(d);
    dev[d]["mode"] = s.Label("mode");
  }
  if (order.empty()) return out + None("no IPoIB interfaces");
  auto put = [&](const char* metric, const char* key) {
    for (const auto& s : m.Get(metric)) {
      auto it = dev.find(s.Label("device"));
      if (it != dev.end()) it->second[key] = Number(s.value);
    }
  };
  put("ibpath_ipoib_mtu_bytes", "mtu");
  put("ibpath_ipoib_mtu_max_bytes", "max");
  put("ibpath_ipoib_mtu_expected_bytes", "expected");
  put("ibpath_ipoib_mtu_below_expected", "below");
  for (const auto& s : m.Get("ibpath_ipoib_info")) {
    auto it = dev.find(s.Label("device"));
    if (it == dev.end()) continue;
    it->second["port"] = s.Label("ca") + " port " + s.Label("port");
    it->second["pkey"] = s.Label("pkey");
  }
  auto get = [](const Row& r, const char* k) {
    auto it = r.find(k);
    return it == r.end() ? std::string("?") : it->second;
  };
  Table t({"device", "mode", "MTU", "max MTU", "expected MTU", "MTU check", "HCA port", "pkey"});
  for (const auto& d : order) {
    const Row& r = dev[d];
    const std::string below = get(r, "below");
    Cell check = below == "?"   ? Cell("?")
                 : below == "0" ? Cell("ok", "ok")
                                : Cell("below expected", "warn");
    t.Add({d, get(r, "mode"), get(r, "mtu"), get(r, "max"), get(r, "expected"), check,
           get(r, "port"), get(r, "pkey")});
  }
  return out + t.Html();
}

std::string HcaPorts(const MetricIndex& m) {
  std::string out = "<h2 id=\"hca\">HCA ports</h2>\n";
  if (!m.Has("ibpath_ib_port_info")) return out + None("InfiniBand collector not available");
  const auto& ports = m.Get("ibpath_ib_port_info");
  if (ports.empty()) return out + None("no HCA ports");
  std::map<std::string, std::string> hca_type;
  for (const auto& s : m.Get("ibpath_ib_ca_info")) hca_type[s.Label("ca")] = s.Label("hca_type");
  std::map<std::pair<std::string, std::string>, double> rate, active;
  for (const auto& s : m.Get("ibpath_ib_port_rate_bytes_per_second")) {
    rate[{s.Label("ca"), s.Label("port")}] = s.value;
  }
  for (const auto& s : m.Get("ibpath_ib_port_active")) {
    active[{s.Label("ca"), s.Label("port")}] = s.value;
  }
  Table t({"CA", "type", "port", "state", "phys_state", "link layer", "rate", "active"});
  for (const auto& s : ports) {
    const auto key = std::make_pair(s.Label("ca"), s.Label("port"));
    auto r = rate.find(key);
    auto a = active.find(key);
    t.Add({key.first, hca_type[key.first], key.second, s.Label("state"), s.Label("phys_state"),
           s.Label("link_layer"), r == rate.end() ? "?" : Number(r->second * 8 / 1e9) + " Gb/s",
           a == active.end() ? Cell("?") : YesNo(a->second > 0)});
  }
  return out + t.Html();
}

std::string Bonds(const MetricIndex& m) {
  std::string out = "<h2 id=\"bonds\">Bonds</h2>\n";
  if (!m.Has("ibpath_bond_info")) return out + None("bond collector not available");
  const auto& bonds = m.Get("ibpath_bond_info");
  if (bonds.empty()) return out + None("no bonds");
  auto by_bond = [&](const char* metric) {
    std::map<std::string, double> v;
    for (const auto& s : m.Get(metric)) v[s.Label("bond")] = s.value;
    return v;
  };
  auto up = by_bond("ibpath_bond_up");
  auto slaves = by_bond("ibpath_bond_slaves");
  auto active = by_bond("ibpath_bond_active_slaves");
  std::map<std::string, std::map<std::string, std::string>> members;  // bond -> slave -> text
  for (const auto& s : m.Get("ibpath_bond_slave_up")) {
    members[s.Label("bond")][s.Label("slave")] = s.value > 0 ? "up" : "DOWN";
  }
  for (const auto& s : m.Get("ibpath_bond_slave_state")) {
    if (s.value <= 0) continue;
    auto& text = members[s.Label("bond")][s.Label("slave")];
    text += (text.empty() ? "" : ", ") + s.Label("state");
  }
  Table t({"bond", "mode", "transport", "up", "active members", "members"});
  for (const auto& s : bonds) {
    const std::string b = s.Label("bond");
    std::string list;
    for (const auto& [slave, text] : members[b]) {
      list += (list.empty() ? "" : "; ") + slave + " (" + text + ")";
    }
    const bool degraded = active[b] < slaves[b];
    t.Add({b, s.Label("mode"), s.Label("transport"), YesNo(up[b] > 0),
           Cell(Number(active[b]) + "/" + Number(slaves[b]), degraded ? "fail" : "ok"), list});
  }
  return out + t.Html();
}

std::string Connections(const MetricIndex& m) {
  std::string out = "<h2 id=\"connections\">Alluxio connections</h2>\n";
  if (!m.Has("ibpath_alluxio_connections")) {
    return out + None("connection collector not available");
  }
  std::map<std::string, bool> data_role;
  for (const auto& s : m.Get("ibpath_alluxio_port_info")) {
    data_role[s.Label("role")] = s.Label("data_path") == "true";
  }
  // (netns, role, side, device) -> count, bytes by direction.
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  struct Agg {
    std::string netns;
    double connections = 0, tx = 0, rx = 0;
  };
  std::map<Key, Agg> rows;
  auto key = [](const MetricSample& s) {
    return Key{s.Label("netns"), s.Label("role"), s.Label("side"), s.Label("device")};
  };
  for (const auto& s : m.Get("ibpath_alluxio_connections")) {
    Agg& a = rows[key(s)];
    a.netns = Netns(s);
    a.connections += s.value;
  }
  for (const auto& s : m.Get("ibpath_alluxio_bytes_total")) {
    auto it = rows.find(key(s));
    if (it == rows.end()) continue;  // closed since: bytes still in /metrics
    (s.Label("direction") == "transmit" ? it->second.tx : it->second.rx) += s.value;
  }
  const bool netns = AnyLabel(m.Get("ibpath_alluxio_connections"), "netns");
  if (rows.empty()) {
    out += None("no Alluxio connections right now");
  } else {
    std::vector<std::string> headers = {"role",        "data path",  "side",          "device",
                                        "connections", "bytes sent", "bytes received"};
    if (netns) headers.insert(headers.begin(), "netns");
    Table t(headers);
    for (const auto& [k, a] : rows) {
      const auto& [ns, role, side, device] = k;
      auto d = data_role.find(role);
      std::vector<Cell> row = {role,
                               d == data_role.end() ? "?" : (d->second ? "yes" : "no"),
                               side,
                               device,
                               Cell(Number(a.connections), "num"),
                               Cell(Bytes(a.tx), "num"),
                               Cell(Bytes(a.rx), "num")};
      if (netns) row.insert(row.begin(), a.netns);
      t.Add(std::move(row));
    }
    out += t.Html();
  }
  // The collectors' own fallback count, per namespace.
  const auto& fallback = m.Get("ibpath_alluxio_fallback_connections");
  if (!fallback.empty()) {
    std::map<std::string, double> bytes;
    for (const auto& s : m.Get("ibpath_alluxio_fallback_bytes_total")) {
      bytes[s.Label("netns")] += s.value;
    }
    std::vector<std::string> headers = {"fallback connections", "fallback bytes"};
    if (netns) headers.insert(headers.begin(), "netns");
    Table t(headers);
    for (const auto& s : fallback) {
      std::vector<Cell> row = {Cell(Number(s.value), s.value > 0 ? "fail" : "ok"),
                               Cell(Bytes(bytes[s.Label("netns")]), "num")};
      if (netns) row.insert(row.begin(), Netns(s));
      t.Add(std::move(row));
    }
    out += t.Html();
  }
  return out;
}

std::string Listeners(const MetricIndex& m) {
  std::string out = "<h2 id=\"listeners\">Listeners</h2>\n";
  if (!m.Has("ibpath_alluxio_listener_info")) {
    return out + None("connection collector not available");
  }
  const auto& listeners = m.Get("ibpath_alluxio_listener_info");
  if (listeners.empty()) return out + None("no Alluxio process listens on this node");
  const bool netns = AnyLabel(listeners, "netns");
  std::vector<std::string> headers = {"role", "address", "port", "device", "on data device"};
  if (netns) headers.insert(headers.begin(), "netns");
  Table t(headers);
  for (const auto& s : listeners) {
    std::vector<Cell> row = {s.Label("role"), s.Label("address"), s.Label("port"),
                             s.Label("device"), YesNo(s.Label("on_data_device") == "true")};
    if (netns) row.insert(row.begin(), Netns(s));
    t.Add(std::move(row));
  }
  return out + t.Html();
}

std::string Probe(const MetricIndex& m, std::time_t now) {
  std::string out = "<h2 id=\"probe\">Last probe</h2>\n";
  const auto success = m.Value("ibpath_probe_success");
  if (!success) return out + None("no probe configured (--probe.url or --probe.path)");
  std::set<std::string> reasons, devices;
  for (const auto& s : m.Get("ibpath_probe_failure_info")) {
    if (s.value > 0) reasons.insert(s.Label("reason"));
  }
  for (const auto& s : m.Get("ibpath_probe_device_info")) {
    devices.insert(s.Label("device") + " (" + s.Label("transport") + ")");
  }
  auto join = [](const std::set<std::string>& items) {
    std::string o;
    for (const auto& i : items) o += (o.empty() ? "" : ", ") + i;
    return o.empty() ? std::string("none") : o;
  };
  const double last = m.Value("ibpath_probe_last_run_timestamp_seconds").value_or(0);
  std::string when = Utc(last);
  if (last > 0 && now > 0) when += fmt::format(" ({:.0f} s ago)", std::max(0.0, now - last));
  Table t({"", ""});
  t.Add({"result", *success > 0 ? Cell("success", "ok") : Cell("FAILED", "fail")});
  t.Add({"device", join(devices)});
  t.Add({"on data device", YesNo(m.Value("ibpath_probe_on_data_device").value_or(0) > 0)});
  t.Add({"throughput",
         fmt::format("{:.1f} MiB/s",
                     m.Value("ibpath_probe_throughput_bytes_per_second").value_or(0) / (1 << 20))});
  t.Add({"bytes read", Bytes(m.Value("ibpath_probe_bytes").value_or(0))});
  t.Add({"HTTP status", Number(m.Value("ibpath_probe_http_status_code").value_or(0))});
  t.Add({"failure reason", reasons.empty() ? Cell("none") : Cell(join(reasons), "fail")});
  t.Add({"time", when});
  return out + t.Html();
}

std::string Checklist(const std::vector<CheckResult>& checks) {
  std::string out =
      "<h2 id=\"checklist\">Checklist (ibpath-agent check)</h2>\n<table>\n"
      "<tr><th>status</th><th>check</th><th>found</th></tr>\n";
  for (const auto& r : checks) {
    out += "<tr><td class=\"" + StatusClass(r.status) + "\">" +
           HtmlEscape(std::string(CheckStatusName(r.status))) + "</td><td>" + HtmlEscape(r.name) +
           "<br><span class=\"fix\">" + HtmlEscape(r.title) + "</span></td><td>" +
           HtmlEscape(r.detail.empty() ? "-" : r.detail);
    if ((r.status == CheckStatus::kFail || r.status == CheckStatus::kWarn) && !r.fix.empty()) {
      out += "<br><span class=\"fix\">fix: " + HtmlEscape(r.fix) + "</span>";
    }
    out += "</td></tr>\n";
  }
  return out + "</table>\n";
}

std::string CollectorFailures(const MetricIndex& m) {
  std::string out = "<h2 id=\"collectors\">Collector failures</h2>\n";
  Table t({"what", "problem"});
  for (const auto& s : m.Get("ibpath_collector_success")) {
    if (s.value <= 0) t.Add({"collector " + s.Label("collector"), Cell("failed", "fail")});
  }
  for (const auto& s : m.Get("ibpath_netns_collector_success")) {
    if (s.value <= 0) t.Add({"network namespace " + Netns(s), Cell("failed", "fail")});
  }
  for (const auto& s : m.Get("ibpath_ib_ca_read_success")) {
    if (s.value <= 0) t.Add({"HCA " + s.Label("ca"), Cell("could not be read", "fail")});
  }
  for (const auto& s : m.Get("ibpath_read_problems")) {
    if (s.value > 0) {
      t.Add({"collector " + s.Label("collector"),
             Cell(Number(s.value) + " value(s) could not be read", "warn")});
    }
  }
  if (t.empty()) return out + None("none: every collector read what it tried to");
  return out + t.Html();
}

std::string Endpoints(const StatusPageInfo& info) {
  std::vector<std::pair<std::string, std::string>> all = {
      {info.telemetry_path, "Prometheus metrics"}, {"/healthz", "liveness"}};
  all.insert(all.end(), info.endpoints.begin(), info.endpoints.end());
  std::string out = "<h2 id=\"endpoints\">Endpoints</h2>\n<ul>\n";
  for (const auto& [path, description] : all) {
    out += "<li><a href=\"" + HtmlEscape(path) + "\">" + HtmlEscape(path) +
           "</a>: " + HtmlEscape(description) + "</li>\n";
  }
  return out + "</ul>\n";
}

}  // namespace

std::string RenderStatusPage(const std::vector<prometheus::MetricFamily>& families,
                             const StatusPageInfo& info) {
  const MetricIndex m(families);
  const std::vector<CheckResult> checks = EvaluateChecks(families);
  const std::string host = info.hostname.empty() ? "this node" : info.hostname;
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"refresh\" content=\"10\">\n<title>ibpath-agent: " +
      HtmlEscape(host) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  page += "<h1>ibpath-agent on " + HtmlEscape(host) + "</h1>\n<p class=\"meta\">" +
          HtmlEscape("Watches whether Alluxio data travels over the InfiniBand fabric. Version " +
                     info.version + "; rendered " + Utc(static_cast<double>(info.now)) +
                     "; refreshes every 10 s.") +
          "</p>\n";
  page += VerdictSection(checks);
  page += ExpectedDevices(m);
  page += Ipoib(m);
  page += HcaPorts(m);
  page += Bonds(m);
  page += Connections(m);
  page += Listeners(m);
  page += Probe(m, info.now);
  page += Checklist(checks);
  page += CollectorFailures(m);
  page += Endpoints(info);
  page += "</body></html>\n";
  return page;
}

}  // namespace ibpath
