#include "agent/flags.h"

#include <charconv>
#include <functional>
#include <map>

#include "collectors/source/alluxio_http.h"

namespace ibpath {
namespace {

struct FlagSpec {
  std::string help;
  std::string placeholder;  // empty for boolean flags
  std::function<Status(Flags&, const std::string&)> set;
};

std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : v) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

Status ParseDuration(const std::string& v, std::chrono::milliseconds* out) {
  // Prometheus style: 500ms, 1s, 2m.
  double n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  std::string unit(end, v.data() + v.size());
  if (ec != std::errc() || n < 0) return Status::InvalidArgument("'" + v + "' is not a duration");
  double ms;
  if (unit == "ms")
    ms = n;
  else if (unit == "s")
    ms = n * 1000;
  else if (unit == "m")
    ms = n * 60000;
  else
    return Status::InvalidArgument("'" + v + "' is not a duration (use e.g. 500ms, 1s, 2m)");
  *out = std::chrono::milliseconds(static_cast<long long>(ms));
  return Status::Ok();
}

Status SetString(std::string* field, const std::string& flag, const std::string& v) {
  if (v.empty()) return Status::InvalidArgument("--" + flag + " needs a value");
  *field = v;
  return Status::Ok();
}

}  // namespace

Status ParseSize(const std::string& v, uint64_t* out) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  const std::string unit(end, v.data() + v.size());
  const uint64_t mult = unit.empty() || unit == "B" ? 1
                        : unit == "KiB"             ? 1ull << 10
                        : unit == "MiB"             ? 1ull << 20
                        : unit == "GiB"             ? 1ull << 30
                                                    : 0;
  // Up to 1 TiB: more is a typo, not a probe.
  if (ec != std::errc() || mult == 0 || n == 0 || n > (1ull << 40) / mult) {
    return Status::InvalidArgument("'" + v + "' is not a size (use e.g. 1048576, 512KiB, 64MiB)");
  }
  *out = n * mult;
  return Status::Ok();
}

namespace {

const std::map<std::string, FlagSpec>& Specs() {
  static const std::map<std::string, FlagSpec> kSpecs = {
      {"web.listen-address",
       {"Address to listen on for the web interface and telemetry (default \":9879\").", "addr",
        [](Flags& f, const std::string& v) {
          if (v.find(':') == std::string::npos) {
            return Status::InvalidArgument("--web.listen-address='" + v +
                                           "' needs a port, e.g. :9879 or 127.0.0.1:9879");
          }
          f.web_listen_address = v;
          return Status::Ok();
        }}},
      {"web.telemetry-path",
       {"Path under which to expose metrics (default \"/metrics\").", "path",
        [](Flags& f, const std::string& v) {
          if (v.empty() || v[0] != '/' || v == "/" || v == "/healthz") {
            return Status::InvalidArgument("--web.telemetry-path='" + v +
                                           "' must start with / and not be / or /healthz");
          }
          f.web_telemetry_path = v;
          return Status::Ok();
        }}},
      {"web.config.file",
       {"Prometheus exporter-toolkit web configuration (YAML) enabling TLS and/or basic "
        "authentication; re-read when it changes (default: none, plain HTTP).",
        "file",
        [](Flags& f, const std::string& v) {
          return SetString(&f.web_config_file, "web.config.file", v);
        }}},
      {"path.sysfs",
       {"sysfs mountpoint (default \"/sys\").", "path",
        [](Flags& f, const std::string& v) {
          f.path_sysfs = v;
          return Status::Ok();
        }}},
      {"netns.discover",
       {"Follow Alluxio processes into their own network namespaces (pods): auto, on or off "
        "(default \"auto\": on when the agent may enter them, i.e. has CAP_SYS_ADMIN).",
        "mode",
        [](Flags& f, const std::string& v) {
          if (v != "auto" && v != "on" && v != "off") {
            return Status::InvalidArgument("--netns.discover='" + v + "': want auto, on or off");
          }
          f.netns_discover = v;
          return Status::Ok();
        }}},
      {"ipoib.expected-mtu",
       {"MTU IPoIB interfaces should run at, capped at their mode's maximum (default: 9000 in "
        "connected mode, 2044 in datagram mode).",
        "bytes",
        [](Flags& f, const std::string& v) {
          uint32_t n = 0;
          auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
          if (ec != std::errc() || end != v.data() + v.size() || n < 68 || n > 65520) {
            return Status::InvalidArgument("--ipoib.expected-mtu='" + v +
                                           "': want a number of bytes from 68 to 65520");
          }
          f.ipoib_expected_mtu = n;
          return Status::Ok();
        }}},
      {"path.procfs",
       {"procfs mountpoint (default \"/proc\").", "path",
        [](Flags& f, const std::string& v) {
          f.path_procfs = v;
          return Status::Ok();
        }}},
      {"alluxio.conf",
       {"alluxio-site.properties to judge against (default: $ALLUXIO_CONF_DIR, "
        "$ALLUXIO_HOME/conf, ~/.alluxio/, /etc/alluxio/, else Alluxio's defaults).",
        "file",
        [](Flags& f, const std::string& v) {
          if (v.empty()) return Status::InvalidArgument("--alluxio.conf needs a file name");
          f.alluxio_conf = v;
          return Status::Ok();
        }}},
      {"datapath.devices",
       {"Comma-separated devices Alluxio data must use (default: the bind.device keys of the "
        "Alluxio configuration, else every InfiniBand interface).",
        "dev,...",
        [](Flags& f, const std::string& v) {
          f.datapath_devices = SplitList(v);
          if (f.datapath_devices.empty()) {
            return Status::InvalidArgument("--datapath.devices needs at least one device");
          }
          return Status::Ok();
        }}},
      {"log.level",
       {"Only log messages with the given severity or above: debug, info, warn, error "
        "(default \"info\").",
        "level",
        [](Flags& f, const std::string& v) {
          if (v != "debug" && v != "info" && v != "warn" && v != "error") {
            return Status::InvalidArgument("--log.level='" + v +
                                           "' is not one of debug, info, warn, error");
          }
          f.log_level = v;
          return Status::Ok();
        }}},
      {"scrape.min-interval",
       {"Scrapes closer together than this share one sample (default \"1s\"): a scrape "
        "storm costs one sample per interval.",
        "duration",
        [](Flags& f, const std::string& v) {
          Status s = ParseDuration(v, &f.scrape_min_interval);
          return s.ok() ? s : Status::InvalidArgument("--scrape.min-interval: " + s.message());
        }}},
      {"probe.url",
       {"Read this http(s) URL every --probe.interval and prove which device carried it "
        "(default: none; see --probe.worker).",
        "url",
        [](Flags& f, const std::string& v) {
          if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0) {
            return Status::InvalidArgument("--probe.url='" + v + "' must be http:// or https://");
          }
          f.probe_url = v;
          return Status::Ok();
        }}},
      {"probe.worker",
       {"Alluxio worker HTTP server host[:port] (port default 28080) to probe with a range read "
        "of --probe.path.",
        "host:port",
        [](Flags& f, const std::string& v) {
          return SetString(&f.probe_worker, "probe.worker", v);
        }}},
      {"probe.path",
       {"Full UFS path (e.g. s3://bucket/key) of the file --probe.worker reads; the URL is "
        "/v1/range/<sha256 of the path>?ufsFullPath=...",
        "ufs-path",
        [](Flags& f, const std::string& v) { return SetString(&f.probe_path, "probe.path", v); }}},
      {"probe.fuse-path",
       {"Read this file (on an Alluxio FUSE mount, past the page cache) every --probe.interval "
        "and judge from the FUSE daemon's worker connections which device carried it "
        "(default: none).",
        "file",
        [](Flags& f, const std::string& v) {
          if (v.empty() || v[0] != '/') {
            return Status::InvalidArgument("--probe.fuse-path='" + v +
                                           "' must be an absolute path");
          }
          f.probe_fuse_path = v;
          return Status::Ok();
        }}},
      {"probe.interval",
       {"Time between scheduled probes (default \"60s\").", "duration",
        [](Flags& f, const std::string& v) {
          Status s = ParseDuration(v, &f.probe_interval);
          if (s.ok() && f.probe_interval.count() == 0) {
            s = Status::InvalidArgument("must be more than 0");
          }
          return s.ok() ? s : Status::InvalidArgument("--probe.interval: " + s.message());
        }}},
      {"probe.timeout",
       {"Give up a probe after this long, connect included (default \"30s\", or the interval if "
        "shorter).",
        "duration",
        [](Flags& f, const std::string& v) {
          Status s = ParseDuration(v, &f.probe_timeout);
          if (s.ok() && f.probe_timeout.count() == 0) {
            s = Status::InvalidArgument("must be more than 0");
          }
          return s.ok() ? s : Status::InvalidArgument("--probe.timeout: " + s.message());
        }}},
      {"probe.bytes",
       {"Read at most this much per probe, asked for with a Range request (default \"64MiB\").",
        "size",
        [](Flags& f, const std::string& v) {
          Status s = ParseSize(v, &f.probe_bytes);
          return s.ok() ? s : Status::InvalidArgument("--probe.bytes: " + s.message());
        }}},
      {"probe.device",
       {"Bind the probe to this device's address, as Alluxio's client does (default: "
        "alluxio.user.network.data.bind.device, else no bind).",
        "dev",
        [](Flags& f, const std::string& v) {
          return SetString(&f.probe_device, "probe.device", v);
        }}},
      {"probe.pin-device",
       {"Diagnostics: pin the probe socket to --probe.device with SO_BINDTODEVICE, so routing "
        "cannot move it (hides the faults the probe exists to catch).",
        "",
        [](Flags& f, const std::string&) {
          f.probe_pin_device = true;
          return Status::Ok();
        }}},
      {"probe.max-concurrent",
       {"On-demand probes (/probe?target=) allowed at once; more are answered 503 (default 2).",
        "n",
        [](Flags& f, const std::string& v) {
          int n = 0;
          auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
          if (ec != std::errc() || end != v.data() + v.size() || n < 0 || n > 64) {
            return Status::InvalidArgument("--probe.max-concurrent='" + v +
                                           "' is not a number from 0 to 64");
          }
          f.probe_max_concurrent = n;
          return Status::Ok();
        }}},
      {"version",
       {"Print the version and exit.", "",
        [](Flags& f, const std::string&) {
          f.show_version = true;
          return Status::Ok();
        }}},
      {"help",
       {"Show this help and exit.", "",
        [](Flags& f, const std::string&) {
          f.show_help = true;
          return Status::Ok();
        }}},
  };
  return kSpecs;
}

}  // namespace

Result<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags f;
  const auto& specs = Specs();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h") {
      f.show_help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return Status::InvalidArgument("unexpected argument '" + arg + "', try --help");
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    auto it = specs.find(name);
    if (it == specs.end()) {
      return Status::InvalidArgument("unknown flag --" + name + ", try --help");
    }
    const FlagSpec& spec = it->second;
    if (spec.placeholder.empty()) {
      if (has_value) return Status::InvalidArgument("flag --" + name + " takes no value");
    } else if (!has_value) {
      if (i + 1 >= args.size()) {
        return Status::InvalidArgument("flag --" + name + " needs a value");
      }
      value = args[++i];
    }
    Status s = spec.set(f, value);
    if (!s.ok()) return s;
  }
  // Probe flags that only make sense together.
  if (!f.probe_url.empty() && (!f.probe_worker.empty() || !f.probe_path.empty())) {
    return Status::InvalidArgument("give either --probe.url or --probe.worker with --probe.path");
  }
  if (f.probe_worker.empty() != f.probe_path.empty()) {
    return Status::InvalidArgument("--probe.worker and --probe.path go together");
  }
  if (!f.probe_worker.empty()) {
    auto url = AlluxioRangeUrl(f.probe_worker, f.probe_path, 0, f.probe_bytes);
    if (!url.ok()) return Status::InvalidArgument("--probe.worker: " + url.status().message());
    f.probe_url = *url;
  }
  if (f.probe_pin_device && f.probe_device.empty()) {
    return Status::InvalidArgument("--probe.pin-device needs --probe.device");
  }
  if (f.probe_timeout > f.probe_interval) {
    if (f.probe_timeout != Flags().probe_timeout) {
      return Status::InvalidArgument("--probe.timeout must not exceed --probe.interval");
    }
    f.probe_timeout = f.probe_interval;  // the default shrinks to a short interval
  }
  return f;
}

std::string FlagsHelp() {
  std::string out =
      "usage: ibpath-agent [<flags>]\n\n"
      "Watches whether Alluxio data really travels over the InfiniBand (IPoIB) fabric and\n"
      "exports what it sees as Prometheus metrics.\n\nFlags:\n";
  for (const auto& [name, spec] : Specs()) {
    std::string left =
        "  --" + name + (spec.placeholder.empty() ? "" : "=<" + spec.placeholder + ">");
    out += left;
    out += left.size() < 32 ? std::string(32 - left.size(), ' ') : "\n" + std::string(32, ' ');
    out += spec.help + "\n";
  }
  return out;
}

}  // namespace ibpath
