// ibpath-agent: watches whether Alluxio data really travels over the
// InfiniBand (IPoIB) fabric and exports what it sees to Prometheus.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "agent/check.h"
#include "agent/collector_registry.h"
#include "agent/flags.h"
#include "agent/http_server.h"
#include "agent/privileges.h"
#include "agent/probe_endpoint.h"
#include "agent/web_config.h"
#include "collectors/advertised_hosts.h"
#include "collectors/alluxio_config_state.h"
#include "collectors/alluxio_conn_collector.h"
#include "collectors/bond_collector.h"
#include "collectors/datapath_collector.h"
#include "collectors/infiniband_collector.h"
#include "collectors/ipoib_collector.h"
#include "collectors/kernel_module_collector.h"
#include "collectors/netdev_collector.h"
#include "collectors/netns_collector.h"
#include "collectors/probe.h"

#ifndef IBPATH_VERSION
#define IBPATH_VERSION "0.0.0-dev"
#endif

namespace ibpath {
namespace {

constexpr auto kHousekeepingPeriod = std::chrono::seconds(2);
constexpr auto kResolvePeriod = std::chrono::seconds(30);

// The port of --web.listen-address (":9879", "127.0.0.1:9879", "[::1]:80").
int ListenPort(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return 0;
  return std::atoi(address.c_str() + colon + 1);
}

const char* CapabilityConsequence(const std::string& feature) {
  if (feature == "netns_discovery") {
    return "Alluxio processes in other network namespaces cannot be followed";
  }
  if (feature == "close_notices_buffer") {
    return "socket-destroy notices get the default receive buffer (rmem_max); after a burst "
           "of closes the agent loses notices and resynchronises from a dump";
  }
  if (feature == "web_listen_port") return "cannot listen on a port below 1024";
  return "a feature degrades";
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "ibpath-agent: error: %s\n", message.c_str());
  return 2;
}

// `ibpath-agent check [--output=text|json] [<flags>]`: one collection, the
// seed's checklist, exit 0 healthy / 1 a check failed / 2 usage or config.
struct CheckMode {
  bool enabled = false;
  bool json = false;
};

Result<CheckMode> TakeCheckMode(std::vector<std::string>& args) {
  CheckMode mode;
  if (args.empty() || args.front() != "check") return mode;
  mode.enabled = true;
  args.erase(args.begin());
  for (auto it = args.begin(); it != args.end();) {
    std::string value;
    if (*it == "--output" && it + 1 != args.end()) {
      value = *(it + 1);
      it = args.erase(it, it + 2);
    } else if (it->rfind("--output=", 0) == 0) {
      value = it->substr(9);
      it = args.erase(it);
    } else {
      ++it;
      continue;
    }
    if (value != "text" && value != "json") {
      return Status::InvalidArgument("--output: want text or json, got \"" + value + "\"");
    }
    mode.json = value == "json";
  }
  return mode;
}

// With a probe configured, `check` runs one now (the scheduled one has not
// run yet) and judges its result in place of the probe collector's.
int RunCheck(const CollectorRegistry& registry, const CheckMode& mode, ProbeCollector& probes,
             const std::string& probe_url, uint64_t probe_bytes) {
  std::vector<prometheus::MetricFamily> families = registry.Collect();
  if (!probe_url.empty()) {
    std::optional<ProbeOutcome> outcome = probes.RunOnDemand(probe_url, probe_bytes);
    if (outcome) {
      MetricSink sink;
      ExportProbe(&*outcome, sink);
      std::vector<prometheus::MetricFamily> fresh = sink.Take();
      std::erase_if(families, [&](const prometheus::MetricFamily& f) {
        return std::any_of(fresh.begin(), fresh.end(),
                           [&](const prometheus::MetricFamily& n) { return n.name == f.name; });
      });
      families.insert(families.end(), fresh.begin(), fresh.end());
    }
  }
  const std::vector<CheckResult> results = EvaluateChecks(families);
  const std::string out = mode.json ? FormatChecksJson(results) : FormatChecksText(results);
  std::fputs(out.c_str(), stdout);
  return Healthy(results) ? 0 : 1;
}

int Run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Result<CheckMode> check = TakeCheckMode(args);
  if (!check.ok()) return Fail(check.status().message());
  Result<Flags> parsed = ParseFlags(args);
  if (!parsed.ok()) return Fail(parsed.status().message());
  const Flags& flags = *parsed;
  if (flags.show_help) {
    std::fputs(FlagsHelp().c_str(), stdout);
    return 0;
  }
  if (flags.show_version) {
    std::printf("ibpath-agent %s\n", IBPATH_VERSION);
    return 0;
  }

  auto logger = spdlog::stderr_color_mt("ibpath");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
  // The checklist is the output of `check`; routine log lines would bury it.
  if (check->enabled && spdlog::get_level() < spdlog::level::warn) {
    spdlog::set_level(spdlog::level::warn);
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");

  // Signals are taken synchronously by the main loop; block them before any
  // thread starts so that no other thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // TLS and basic auth for the endpoint; a bad file stops the agent here.
  auto web_config = WebConfigState::Create(check->enabled ? "" : flags.web_config_file);
  if (!web_config.ok()) return Fail(web_config.status().message());
  if ((*web_config)->tls_enabled()) {
    if (Status s = PrepareTlsRuntime(); !s.ok()) return Fail(s.message());
  }

  const std::string conf_path = LocateAlluxioSiteProperties(
      flags.alluxio_conf,
      [](const char* name) -> std::optional<std::string> {
        const char* v = std::getenv(name);
        return v ? std::optional<std::string>(v) : std::nullopt;
      },
      [](const std::string& p) { return access(p.c_str(), F_OK) == 0; });
  AlluxioConfigState config(conf_path);
  if (Status s = config.Reload(); !s.ok()) return Fail(s.message());
  if (conf_path.empty()) {
    spdlog::info("no alluxio-site.properties found; judging against Alluxio's defaults");
  }

  AdvertisedHosts advertised;
  advertised.Refresh(config.Current()->advertised_hosts);

  Result<bool> discover = ResolveNetnsDiscovery(flags.netns_discover);
  if (!discover.ok()) return Fail(discover.status().message());

  // Keep only the capabilities the enabled features use, before any thread
  // starts (capabilities are per thread).
  PrivilegeReport privileges =
      DropPrivileges(WantedCapabilities(*discover, ListenPort(flags.web_listen_address)));
  for (const WantedCapability& m : privileges.missing) {
    spdlog::log(m.feature == "netns_discovery" ? spdlog::level::warn : spdlog::level::info,
                "no {}: {}", m.name, CapabilityConsequence(m.feature));
  }
  if (!privileges.dropped.empty()) {
    spdlog::debug("dropped {} capabilities the agent does not use", privileges.dropped.size());
  }
  if (!privileges.ok) spdlog::error("{}", privileges.error);
  PrivilegeCollector privilege_collector(privileges);
  // Interfaces, the data path and Alluxio connections, for the agent's own
  // network namespace and (with discovery) every one holding Alluxio.
  NetnsCollector::Options netns_options;
  netns_options.procfs = flags.path_procfs;
  netns_options.discover = *discover;
  netns_options.flag_devices = flags.datapath_devices;
  netns_options.host_config = &config;
  netns_options.host_advertised = &advertised;
  NetnsCollector connections(netns_options);
  connections.Start();

  ProbeCollector::Options probe_options;
  probe_options.url = flags.probe_url;
  probe_options.fuse_path = flags.probe_fuse_path;
  // FUSE probes judge from the FUSE daemon's connections in the agent's own
  // namespace: a fresh sample of them before and after the read.
  if (AlluxioConnCollector* host = connections.host_connections()) {
    probe_options.fuse_sampler = [host] { return host->ClientReceiveByDevice("worker_"); };
  }
  probe_options.interval = flags.probe_interval;
  probe_options.bytes = flags.probe_bytes;
  probe_options.max_on_demand = flags.probe_max_concurrent;
  probe_options.settings.timeout = flags.probe_timeout;
  probe_options.settings.device = flags.probe_device;
  probe_options.settings.pin_device = flags.probe_pin_device;
  probe_options.settings.datapath_devices = flags.datapath_devices;
  probe_options.settings.config = &config;
  ProbeCollector probes(probe_options);
  if (!check->enabled) probes.Start();

  // InfiniBand, IPoIB, bonds and drivers from --path.sysfs. libibumad only ever reads the
  // real /sys, so it serves the HCA ports when that is the tree the agent was given.
  const SysfsReader sysfs(flags.path_sysfs);
  UmadReader umad;
  const bool real_sysfs = flags.path_sysfs == "/sys" || flags.path_sysfs == "/sys/";
  InfinibandCollector infiniband(sysfs, real_sysfs ? &umad : nullptr);
  IpoibCollector ipoib(sysfs, flags.ipoib_expected_mtu);
  BondCollector bonds(sysfs);
  KernelModuleCollector kernel_modules(sysfs);

  CollectorRegistry registry(flags.scrape_min_interval, IBPATH_VERSION);
  registry.Register("netns", &connections);
  registry.Register("privileges", &privilege_collector);
  registry.Register("probe", &probes);
  registry.Register("infiniband", &infiniband);
  registry.Register("ipoib", &ipoib);
  registry.Register("bond", &bonds);
  registry.Register("kernel_modules", &kernel_modules);
  registry.Register("web_config", web_config->get());

  if (check->enabled) {
    const int rc = RunCheck(registry, *check, probes, probe_options.url, probe_options.bytes);
    connections.Stop();
    return rc;
  }

  HttpServer::Options web;
  web.listen_address = flags.web_listen_address;
  web.telemetry_path = flags.web_telemetry_path;
  web.version = IBPATH_VERSION;
  web.endpoints.push_back({"/probe",
                           "on-demand data-path probe (?target=URL, ?worker=host:port&amp;"
                           "path=UFS path, or ?fuse_path=file on a FUSE mount)",
                           [&probes](const std::map<std::string, std::string>& query) {
                             return HandleProbeRequest(probes, query);
                           }});
  if (!flags.web_config_file.empty()) {
    WebConfigState* wc = web_config->get();
    web.authorize = [wc](const char* authorization) {
      if (wc->Authorize(authorization) == WebConfigState::AuthResult::kAllowed) return true;
      wc->CountUnauthorized();
      return false;
    };
    if (wc->tls_enabled()) web.init_tls = [wc](void* ssl_ctx) { return wc->InitSsl(ssl_ctx); };
  }
  auto server = HttpServer::Start(web, &registry);
  if (!server.ok()) {
    spdlog::error("{}", server.status().message());
    return 1;
  }
  for (const std::string& p : (*server)->Ports()) {
    spdlog::info("listening on {} ({}{})", p, flags.web_listen_address, flags.web_telemetry_path);
  }

  auto last_resolve = std::chrono::steady_clock::now();
  for (;;) {
    timespec timeout{std::chrono::duration_cast<std::chrono::seconds>(kHousekeepingPeriod).count(),
                     0};
    int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    bool refresh = false;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: re-reading the Alluxio and web configurations");
      config.Reload();
      (*web_config)->Reload();
      refresh = true;
    } else {
      refresh = config.ReloadIfChanged();
      (*web_config)->ReloadIfChanged();
    }
    const auto now = std::chrono::steady_clock::now();
    if (refresh || now - last_resolve >= kResolvePeriod) {
      advertised.Refresh(config.Current()->advertised_hosts);
      last_resolve = now;
    }
  }
  probes.Stop();  // cancels probes in flight so that HTTP threads can finish
  server->reset();
  connections.Stop();
  return 0;
}

}  // namespace
}  // namespace ibpath

int main(int argc, char** argv) { return ibpath::Run(argc, argv); }
