// InfiniBand, IPoIB, bonding and driver state read from a sysfs tree, in the
// style of prometheus/procfs's sysfs package: every path hangs off an
// injectable root (the agent's --path.sysfs), results are plain structs, and
// the parse functions are pure so they can be tested table-driven.
//
// Contract: a reader returns what it could read. A file that is missing,
// empty, garbage, or reads "N/A (no PMA)" costs only that one value, never
// the rest of the port or device; each such loss is named in `problems`
// ("class/infiniband/mlx5_0/ports/1/counters/symbol_error: ..."). A whole
// tree that is absent (no class/infiniband on a host without HCAs) is zero
// devices and no problem. Only an unreadable directory that exists fails.
// Thread-safety: SysfsReader holds only its root; concurrent calls are safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/source/status.h"

namespace ibpath {

// Port counters in base units: the data counters, kept by the HCA in 4-byte
// words, are converted to bytes. Absent when the file is missing or
// unavailable.
struct IbPortCounters {
  std::optional<uint64_t> receive_bytes, transmit_bytes;
  std::optional<uint64_t> receive_packets, transmit_packets;
  std::optional<uint64_t> symbol_errors, link_error_recoveries, link_downed;
  std::optional<uint64_t> receive_errors, receive_remote_physical_errors, transmit_discards;
  std::optional<uint64_t> excessive_buffer_overrun_errors, local_link_integrity_errors;
  // Counter files (e.g. "port_xmit_data") read from their narrow PMA
  // counter and stuck at its maximum: they no longer move until cleared.
  std::vector<std::string> saturated;
  // hw_counters/<name> of the driver (64-bit, already in their own units).
  std::map<std::string, uint64_t> hw;
  bool operator==(const IbPortCounters&) const = default;
};

// One counter of IbPortCounters: where it is read from and how.
struct IbCounterSpec {
  const char* name;      // metric stem, e.g. "receive_bytes"
  const char* help;      // what it counts, for HELP text
  const char* file;      // under ports/<n>/counters/
  const char* ext_file;  // 64-bit version under ports/<n>/counters_ext/, or nullptr
  unsigned bits;         // width of the PMA counter behind `file`: it saturates at 2^bits-1
  unsigned scale;        // 4 for data counters (words), else 1
  std::optional<uint64_t> IbPortCounters::*field;
};
std::span<const IbCounterSpec> IbCounterSpecs();

struct IbPort {
  int number = 0;
  int state = 0;                    // IB port state: 1 DOWN, 2 INIT, 3 ARMED, 4 ACTIVE, ...
  int phys_state = 0;               // 2 Polling, 3 Disabled, 5 LinkUp, ...
  std::string link_layer;           // "InfiniBand", or "Ethernet" for RoCE
  std::optional<double> rate_gbps;  // signalling rate, e.g. 200 for "200 Gb/sec (4X HDR)"
  uint32_t lid = 0, sm_lid = 0;
  IbPortCounters counters;

  bool active() const { return state == 4 && phys_state == 5; }
  bool operator==(const IbPort&) const = default;
};

struct IbCa {
  std::string name;  // e.g. mlx5_0
  std::string fw_ver, hca_type, node_guid;
  std::vector<IbPort> ports;
  std::string error;  // non-empty: the CA could not be read at all
  bool operator==(const IbCa&) const = default;
};

struct IbReading {
  std::vector<IbCa> cas;  // sorted by name
  std::vector<std::string> problems;
};

enum class IpoibMode { kUnknown, kDatagram, kConnected };
std::string_view IpoibModeName(IpoibMode m);  // "datagram", "connected", "unknown"

struct IpoibInterface {
  std::string device;
  IpoibMode mode = IpoibMode::kUnknown;
  std::optional<uint32_t> mtu;
  std::string pkey;  // "0xffff"; "" if unreadable
  std::optional<bool> umcast;
  std::string parent;  // child interfaces (ib0.8001): their parent, else ""
  std::string ca;      // HCA the interface sits on, "" if not found
  std::optional<int> port;
  bool operator==(const IpoibInterface&) const = default;
};

struct IpoibReading {
  std::vector<IpoibInterface> interfaces;  // sorted by device
  std::vector<std::string> problems;
};

struct BondSlave {
  std::string name;
  std::string state;             // active, backup (bonding_slave/state)
  std::string mii_status;        // up, down, going_down, going_back
  std::optional<uint32_t> type;  // ARPHRD_* of the slave: 32 IPoIB, 1 Ethernet
  bool up() const { return mii_status == "up"; }
  bool operator==(const BondSlave&) const = default;
};

struct Bond {
  std::string name;
  std::string mode;  // active-backup, balance-rr, 802.3ad, ...
  std::string mii_status;
  std::string active_slave;  // "" when none or not applicable
  std::vector<BondSlave> slaves;
  std::string transport;  // infiniband, ethernet, mixed, other
  bool operator==(const Bond&) const = default;
};

struct BondReading {
  std::vector<Bond> bonds;  // sorted by name
  std::vector<std::string> problems;
};

struct KernelModule {
  std::string name;
  bool loaded = false;
  bool operator==(const KernelModule&) const = default;
};

// The modules whose absence explains a missing IB interface.
std::span<const char* const> IbKernelModules();

// Pure parsers for single sysfs values (input may carry a trailing newline).
// "4: ACTIVE" -> 4. Used for ports/<n>/state and phys_state.
Result<int> ParseIbStateFile(std::string_view text);
// "200 Gb/sec (4X HDR)" -> 200, "2.5 Gb/sec (1X SDR)" -> 2.5.
Result<double> ParseIbRate(std::string_view text);
// Decimal or 0x-hex unsigned; "N/A (no PMA)" is Unavailable, other text
// InvalidData.
// The text of a sysfs value without surrounding blanks, newline and NULs,
// as every parser here sees it.
std::string_view TrimSysfsValue(std::string_view s);
Result<uint64_t> ParseSysfsUint(std::string_view text);
// "datagram" / "connected".
Result<IpoibMode> ParseIpoibMode(std::string_view text);
// bonding/mode "active-backup 1" -> "active-backup".
Result<std::string> ParseBondMode(std::string_view text);
// Names for state codes, as the kernel writes them ("ACTIVE", "LinkUp").
std::string IbPortStateName(int state);
std::string IbPhysStateName(int phys_state);
// "b859:9f03:00d4:5e0c" from a host-order GUID.
std::string FormatGuid(uint64_t guid);

// The ARPHRD_* type sysfs reports for IPoIB interfaces and bonds of them.
inline constexpr uint32_t kArphrdInfiniband = 32;

class SysfsReader {
 public:
  explicit SysfsReader(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // class/infiniband: CAs, ports, counters.
  Result<IbReading> ReadInfiniband() const;
  // Only the counters of one port (for CAs whose state came from libibumad).
  IbPortCounters ReadPortCounters(const std::string& ca, int port,
                                  std::vector<std::string>* problems) const;
  // class/net/*: interfaces with type 32 that are not bonds.
  Result<IpoibReading> ReadIpoib() const;
  // class/net/*/bonding.
  Result<BondReading> ReadBonds() const;
  // module/<name> for each name.
  std::vector<KernelModule> ReadModules(std::span<const char* const> names) const;

 private:
  std::string root_;
};

}  // namespace ibpath
