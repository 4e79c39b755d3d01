#include "collectors/source/infiniband_sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ibpath {
std::string_view TrimSysfsValue(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\0')) {
    s.remove_suffix(1);
  }
  return s;
}

namespace {

std::string_view Trim(std::string_view s) { return TrimSysfsValue(s); }

// Reads a small sysfs attribute. sysfs attributes are at most a page.
// Errors name `label` (the path relative to the sysfs root).
Result<std::string> ReadAttr(const std::string& path, const std::string& label) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer. sysfs attributes
  // are regular files; anything else is not read at all.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::FromErrno(errno, label);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::InvalidData(label + ": not a regular file");
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Some attributes fail on read (e.g. counters of a port without a PMA).
      Status s = Status::FromErrno(errno, label);
      close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > 65536) break;  // not a sysfs attribute; don't read a whole disk
  }
  close(fd);
  return std::string(Trim(out));
}

// Entries of a directory, sorted, without "." and "..". NotFound when absent.
Result<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return Status::FromErrno(errno, "listing " + path);
  std::vector<std::string> out;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    out.emplace_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool IsDir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Reads and parses one attribute; a failure becomes a problem named by the
// path relative to the root, and an empty optional.
template <typename T, typename Parse>
std::optional<T> ReadParsed(const std::string& root, const std::string& rel, Parse parse,
                            std::vector<std::string>* problems) {
  auto text = ReadAttr(root + "/" + rel, rel);
  if (!text.ok()) {
    problems->push_back(text.status().message());
    return std::nullopt;
  }
  Result<T> v = parse(*text);
  if (!v.ok()) {
    problems->push_back(rel + ": " + v.status().message());
    return std::nullopt;
  }
  return *v;
}

std::string ReadString(const std::string& root, const std::string& rel,
                       std::vector<std::string>* problems) {
  auto v = ReadParsed<std::string>(
      root, rel, [](const std::string& s) -> Result<std::string> { return s; }, problems);
  return v.value_or("");
}

constexpr IbCounterSpec kCounterSpecs[] = {
    {"receive_bytes", "Data bytes received on the port (all virtual lanes).", "port_rcv_data",
     "port_rcv_data_64", 32, 4, &IbPortCounters::receive_bytes},
    {"transmit_bytes", "Data bytes transmitted on the port (all virtual lanes).", "port_xmit_data",
     "port_xmit_data_64", 32, 4, &IbPortCounters::transmit_bytes},
    {"receive_packets", "Packets received on the port.", "port_rcv_packets", "port_rcv_packets_64",
     32, 1, &IbPortCounters::receive_packets},
    {"transmit_packets", "Packets transmitted on the port.", "port_xmit_packets",
     "port_xmit_packets_64", 32, 1, &IbPortCounters::transmit_packets},
    {"symbol_errors", "Minor link errors detected on one or more physical lanes.", "symbol_error",
     nullptr, 16, 1, &IbPortCounters::symbol_errors},
    {"link_error_recoveries", "Times the link error recovery process completed successfully.",
     "link_error_recovery", nullptr, 8, 1, &IbPortCounters::link_error_recoveries},
    {"link_downed", "Times the link error recovery process failed and the link went down.",
     "link_downed", nullptr, 8, 1, &IbPortCounters::link_downed},
    {"receive_errors", "Packets with errors received on the port.", "port_rcv_errors", nullptr, 16,
     1, &IbPortCounters::receive_errors},
    {"receive_remote_physical_errors",
     "Packets received marked with the EBP delimiter (a physical error elsewhere).",
     "port_rcv_remote_physical_errors", nullptr, 16, 1,
     &IbPortCounters::receive_remote_physical_errors},
    {"transmit_discards", "Outbound packets discarded because the port was down or congested.",
     "port_xmit_discards", nullptr, 16, 1, &IbPortCounters::transmit_discards},
    {"excessive_buffer_overrun_errors",
     "Times consecutive flow control update periods had buffer overruns.",
     "excessive_buffer_overrun_errors", nullptr, 4, 1,
     &IbPortCounters::excessive_buffer_overrun_errors},
    {"local_link_integrity_errors",
     "Times the count of local physical errors exceeded the threshold.",
     "local_link_integrity_errors", nullptr, 4, 1, &IbPortCounters::local_link_integrity_errors},
};

constexpr const char* kIbModules[] = {"ib_core", "ib_ipoib", "ib_umad", "mlx5_core", "mlx5_ib"};

}  // namespace

std::span<const IbCounterSpec> IbCounterSpecs() { return kCounterSpecs; }
std::span<const char* const> IbKernelModules() { return kIbModules; }

std::string_view IpoibModeName(IpoibMode m) {
  switch (m) {
    case IpoibMode::kDatagram: return "datagram";
    case IpoibMode::kConnected: return "connected";
    case IpoibMode::kUnknown: break;
  }
  return "unknown";
}

Result<uint64_t> ParseSysfsUint(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return Status::InvalidData("empty");
  if (s.rfind("N/A", 0) == 0) return Status::Unavailable("unavailable ('" + std::string(s) + "')");
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec == std::errc::result_out_of_range) {
    return Status::InvalidData("'" + std::string(Trim(text)) + "' is out of range");
  }
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Status::InvalidData("'" + std::string(Trim(text)) + "' is not a number");
  }
  return v;
}

Result<int> ParseIbStateFile(std::string_view text) {
  std::string_view s = Trim(text);
  auto colon = s.find(':');
  std::string_view num = Trim(s.substr(0, colon));
  int v = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (num.empty() || ec != std::errc() || end != num.data() + num.size() || v < 0) {
    return Status::InvalidData("'" + std::string(s) +
                               "' is not a port state (want e.g. 4: ACTIVE)");
  }
  return v;
}

Result<double> ParseIbRate(std::string_view text) {
  std::string_view s = Trim(text);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  std::string_view rest = Trim(std::string_view(end, s.data() + s.size() - end));
  // from_chars accepts "inf" and "nan": garbage, not a rate.
  if (ec != std::errc() || !std::isfinite(v) || v < 0 || rest.rfind("Gb/sec", 0) != 0) {
    return Status::InvalidData("'" + std::string(s) + "' is not a rate (want e.g. 200 Gb/sec)");
  }
  return v;
}

Result<IpoibMode> ParseIpoibMode(std::string_view text) {
  std::string_view s = Trim(text);
  if (s == "datagram") return IpoibMode::kDatagram;
  if (s == "connected") return IpoibMode::kConnected;
  return Status::InvalidData("'" + std::string(s) + "' is not an IPoIB mode");
}

Result<std::string> ParseBondMode(std::string_view text) {
  std::string_view s = Trim(text);
  std::string_view name = s.substr(0, s.find(' '));
  if (name.empty()) return Status::InvalidData("empty bonding mode");
  return std::string(name);
}

std::string IbPortStateName(int state) {
  switch (state) {
    case 0: return "NOP";
    case 1: return "DOWN";
    case 2: return "INIT";
    case 3: return "ARMED";
    case 4: return "ACTIVE";
    case 5: return "ACTIVE_DEFER";
  }
  return "unknown";
}

std::string IbPhysStateName(int phys_state) {
  switch (phys_state) {
    case 1: return "Sleep";
    case 2: return "Polling";
    case 3: return "Disabled";
    case 4: return "PortConfigurationTraining";
    case 5: return "LinkUp";
    case 6: return "LinkErrorRecovery";
    case 7: return "Phy Test";
  }
  return "unknown";
}

std::string FormatGuid(uint64_t guid) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04x:%04x:%04x:%04x", static_cast<unsigned>(guid >> 48),
                static_cast<unsigned>((guid >> 32) & 0xffff),
                static_cast<unsigned>((guid >> 16) & 0xffff), static_cast<unsigned>(guid & 0xffff));
  return buf;
}

IbPortCounters SysfsReader::ReadPortCounters(const std::string& ca, int port,
                                             std::vector<std::string>* problems) const {
  IbPortCounters c;
  const std::string port_rel = "class/infiniband/" + ca + "/ports/" + std::to_string(port);
  const bool has_counters = IsDir(root_ + "/" + port_rel + "/counters");
  const bool has_ext = IsDir(root_ + "/" + port_rel + "/counters_ext");
  for (const IbCounterSpec& spec : kCounterSpecs) {
    // Prefer the 64-bit PortCountersExtended value: it neither saturates nor wraps.
    if (has_ext && spec.ext_file != nullptr) {
      const std::string rel = port_rel + "/counters_ext/" + spec.ext_file;
      if (Exists(root_ + "/" + rel)) {
        if (auto v = ReadParsed<uint64_t>(root_, rel, ParseSysfsUint, problems)) {
          c.*spec.field = *v * spec.scale;
          continue;
        }
      }
    }
    if (!has_counters) continue;
    const std::string rel = port_rel + "/counters/" + spec.file;
    auto v = ReadParsed<uint64_t>(root_, rel, ParseSysfsUint, problems);
    if (!v) continue;
    // A narrow PMA counter stops at its maximum instead of wrapping. Kernels
    // that find PortCountersExtended serve 64-bit data counters here, which
    // exceed the 32-bit maximum and so are never mistaken for saturated ones.
    const uint64_t max =
        spec.bits >= 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << spec.bits) - 1;
    if (*v == max) c.saturated.push_back(spec.file);
    c.*spec.field = *v > std::numeric_limits<uint64_t>::max() / spec.scale
                        ? std::numeric_limits<uint64_t>::max()
                        : *v * spec.scale;
  }
  const std::string hw_rel = port_rel + "/hw_counters";
  if (auto names = ListDir(root_ + "/" + hw_rel); names.ok()) {
    for (const std::string& n : *names) {
      // lifespan is the driver's cache time in ms, a setting, not a count.
      if (n == "lifespan") continue;
      if (auto v = ReadParsed<uint64_t>(root_, hw_rel + "/" + n, ParseSysfsUint, problems)) {
        c.hw[n] = *v;
      }
    }
  }
  return c;
}

Result<IbReading> SysfsReader::ReadInfiniband() const {
  IbReading out;
  const std::string class_rel = "class/infiniband";
  auto cas = ListDir(root_ + "/" + class_rel);
  if (!cas.ok()) {
    if (cas.status().code() == Status::Code::kNotFound) return out;  // no HCA on this host
    return cas.status();
  }
  for (const std::string& name : *cas) {
    IbCa ca;
    ca.name = name;
    const std::string ca_rel = class_rel + "/" + name;
    ca.fw_ver = ReadString(root_, ca_rel + "/fw_ver", &out.problems);
    ca.hca_type = ReadString(root_, ca_rel + "/hca_type", &out.problems);
    ca.node_guid = ReadString(root_, ca_rel + "/node_guid", &out.problems);
    auto ports = ListDir(root_ + "/" + ca_rel + "/ports");
    if (!ports.ok() && ports.status().code() != Status::Code::kNotFound) {
      ca.error = ports.status().message();
      out.problems.push_back(ca_rel + "/ports: " + ports.status().message());
    }
    std::vector<int> numbers;
    for (const std::string& p : ports.ok() ? *ports : std::vector<std::string>{}) {
      int n = 0;
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
      if (ec != std::errc() || end != p.data() + p.size()) {
        out.problems.push_back(ca_rel + "/ports/" + p + ": not a port number");
        continue;
      }
      numbers.push_back(n);
    }
    std::sort(numbers.begin(), numbers.end());  // "10" sorts before "2" as text
    for (int n : numbers) {
      IbPort port;
      port.number = n;
      const std::string rel = ca_rel + "/ports/" + std::to_string(n);
      port.state =
          ReadParsed<int>(root_, rel + "/state", ParseIbStateFile, &out.problems).value_or(0);
      port.phys_state =
          ReadParsed<int>(root_, rel + "/phys_state", ParseIbStateFile, &out.problems).value_or(0);
      port.link_layer = ReadString(root_, rel + "/link_layer", &out.problems);
      port.rate_gbps = ReadParsed<double>(root_, rel + "/rate", ParseIbRate, &out.problems);
      port.lid = static_cast<uint32_t>(
          ReadParsed<uint64_t>(root_, rel + "/lid", ParseSysfsUint, &out.problems).value_or(0));
      port.sm_lid = static_cast<uint32_t>(
          ReadParsed<uint64_t>(root_, rel + "/sm_lid", ParseSysfsUint, &out.problems).value_or(0));
      port.counters = ReadPortCounters(name, n, &out.problems);
      ca.ports.push_back(std::move(port));
    }
    out.cas.push_back(std::move(ca));
  }
  return out;
}

Result<IpoibReading> SysfsReader::ReadIpoib() const {
  IpoibReading out;
  const std::string net_rel = "class/net";
  auto devs = ListDir(root_ + "/" + net_rel);
  if (!devs.ok()) {
    if (devs.status().code() == Status::Code::kNotFound) return out;
    return devs.status();
  }
  for (const std::string& dev : *devs) {
    const std::string rel = net_rel + "/" + dev;
    auto type = ReadAttr(root_ + "/" + rel + "/type", rel + "/type");
    if (!type.ok()) continue;  // not a netdev directory (e.g. bonding_masters)
    auto t = ParseSysfsUint(*type);
    if (!t.ok() || *t != kArphrdInfiniband) continue;
    if (IsDir(root_ + "/" + rel + "/bonding")) continue;  // a bond of IPoIB, not IPoIB itself
    IpoibInterface i;
    i.device = dev;
    i.mode = ReadParsed<IpoibMode>(root_, rel + "/mode", ParseIpoibMode, &out.problems)
                 .value_or(IpoibMode::kUnknown);
    if (auto mtu = ReadParsed<uint64_t>(root_, rel + "/mtu", ParseSysfsUint, &out.problems)) {
      i.mtu = static_cast<uint32_t>(*mtu);
    }
    if (auto pkey = ReadParsed<uint64_t>(root_, rel + "/pkey", ParseSysfsUint, &out.problems)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "0x%04x", static_cast<unsigned>(*pkey & 0xffff));
      i.pkey = buf;
    }
    if (auto um = ReadParsed<uint64_t>(root_, rel + "/umcast", ParseSysfsUint, &out.problems)) {
      i.umcast = *um != 0;
    }
    // Child interfaces (ip link add ... type ipoib, or create_child) name their parent.
    if (Exists(root_ + "/" + rel + "/parent")) {
      i.parent = ReadString(root_, rel + "/parent", &out.problems);
    }
    // The HCA: device/ is the PCI function, which lists its IB device.
    auto cas = ListDir(root_ + "/" + rel + "/device/infiniband");
    if (cas.ok() && !cas->empty()) {
      i.ca = cas->front();
      if (cas->size() > 1) {
        out.problems.push_back(rel + "/device/infiniband: several CAs, using " + i.ca);
      }
    } else {
      out.problems.push_back(rel + "/device/infiniband: no HCA found for the interface");
    }
    // ipoib sets dev_port (and on old kernels only dev_id) to the port number - 1.
    std::vector<std::string> port_problems;
    auto dp = ReadParsed<uint64_t>(root_, rel + "/dev_port", ParseSysfsUint, &port_problems);
    if (!dp) dp = ReadParsed<uint64_t>(root_, rel + "/dev_id", ParseSysfsUint, &port_problems);
    if (dp && *dp < 255) {
      i.port = static_cast<int>(*dp) + 1;
    } else {
      out.problems.insert(out.problems.end(), port_problems.begin(), port_problems.end());
    }
    out.interfaces.push_back(std::move(i));
  }
  return out;
}

Result<BondReading> SysfsReader::ReadBonds() const {
  BondReading out;
  const std::string net_rel = "class/net";
  auto devs = ListDir(root_ + "/" + net_rel);
  if (!devs.ok()) {
    if (devs.status().code() == Status::Code::kNotFound) return out;
    return devs.status();
  }
  auto type_of = [&](const std::string& dev) -> std::optional<uint32_t> {
    auto t = ReadAttr(root_ + "/" + net_rel + "/" + dev + "/type", dev);
    if (!t.ok()) return std::nullopt;
    auto v = ParseSysfsUint(*t);
    if (!v.ok()) return std::nullopt;
    return static_cast<uint32_t>(*v);
  };
  for (const std::string& dev : *devs) {
    const std::string rel = net_rel + "/" + dev + "/bonding";
    if (!IsDir(root_ + "/" + rel)) continue;
    Bond b;
    b.name = dev;
    b.mode = ReadParsed<std::string>(root_, rel + "/mode", ParseBondMode, &out.problems)
                 .value_or("unknown");
    b.mii_status = ReadString(root_, rel + "/mii_status", &out.problems);
    // active_slave only exists in meaningful form for active-backup-like modes; empty otherwise.
    if (Exists(root_ + "/" + rel + "/active_slave")) {
      b.active_slave = ReadString(root_, rel + "/active_slave", &out.problems);
    }
    std::string slaves = ReadString(root_, rel + "/slaves", &out.problems);
    std::size_t pos = 0;
    while (pos < slaves.size()) {
      std::size_t end = slaves.find(' ', pos);
      if (end == std::string::npos) end = slaves.size();
      if (end > pos) {
        BondSlave s;
        s.name = slaves.substr(pos, end - pos);
        const std::string srel = net_rel + "/" + s.name + "/bonding_slave";
        s.state = ReadString(root_, srel + "/state", &out.problems);
        s.mii_status = ReadString(root_, srel + "/mii_status", &out.problems);
        s.type = type_of(s.name);
        b.slaves.push_back(std::move(s));
      }
      pos = end + 1;
    }
    std::sort(b.slaves.begin(), b.slaves.end(),
              [](const BondSlave& x, const BondSlave& y) { return x.name < y.name; });
    auto transport_of = [](std::optional<uint32_t> t) -> std::string {
      if (!t) return "other";
      if (*t == kArphrdInfiniband) return "infiniband";
      if (*t == 1) return "ethernet";
      return "other";
    };
    if (b.slaves.empty()) {
      b.transport = transport_of(type_of(dev));
    } else {
      b.transport = transport_of(b.slaves.front().type);
      for (const BondSlave& s : b.slaves) {
        if (transport_of(s.type) != b.transport) b.transport = "mixed";
      }
    }
    out.bonds.push_back(std::move(b));
  }
  return out;
}

std::vector<KernelModule> SysfsReader::ReadModules(std::span<const char* const> names) const {
  std::vector<KernelModule> out;
  for (const char* n : names) {
    // Loadable modules and built-in ones with parameters both appear in module/.
    out.push_back({n, IsDir(root_ + "/module/" + n)});
  }
  return out;
}

}  // namespace ibpath
