#include "agent/flags.h"

#include <charconv>
#include <functional>
#include <map>

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
  if (unit == "ms") ms = n;
  else if (unit == "s") ms = n * 1000;
  else if (unit == "m") ms = n * 60000;
  else return Status::InvalidArgument("'" + v + "' is not a duration (use e.g. 500ms, 1s, 2m)");
  *out = std::chrono::milliseconds(static_cast<long long>(ms));
  return Status::Ok();
}

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
      {"path.sysfs",
       {"sysfs mountpoint (default \"/sys\").", "path",
        [](Flags& f, const std::string& v) {
          f.path_sysfs = v;
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
  return f;
}

std::string FlagsHelp() {
  std::string out =
      "usage: ibpath-agent [<flags>]\n\n"
      "Watches whether Alluxio data really travels over the InfiniBand (IPoIB) fabric and\n"
      "exports what it sees as Prometheus metrics.\n\nFlags:\n";
  for (const auto& [name, spec] : Specs()) {
    std::string left = "  --" + name + (spec.placeholder.empty() ? "" : "=<" + spec.placeholder + ">");
    out += left;
    out += left.size() < 32 ? std::string(32 - left.size(), ' ') : "\n" + std::string(32, ' ');
    out += spec.help + "\n";
  }
  return out;
}

}  // namespace ibpath
