// The FUSE probe: read a file through an Alluxio FUSE mount, bypassing the
// page cache, and judge the path from the byte counters of the FUSE daemon's
// connections to the workers.
//
// One run: ask the connection collector for a fresh sample (per egress
// device, the bytes received so far by client-side connections to worker_*
// ports in the agent's own network namespace), read at most N bytes of the
// file (O_DIRECT where the mount allows it, else the file's cached pages are
// dropped with posix_fadvise(DONTNEED) first), sample again. The per-device
// growth is where the bytes came from: the verdict is "on the data device"
// when expected data devices received at least 90% of the bytes read.
// Other reads through the mount in the same window count too (necessary,
// not sufficient), and a file the daemon serves from its own cache moves no
// connection bytes at all: no_network_read.
//
// A read stuck in the kernel cannot be interrupted: it runs on a helper
// thread that is abandoned at the timeout (the run reports `timeout`); while
// kMaxStuckReads such threads are still stuck, runs fail at once with
// `fuse_stuck` instead of piling up more.
//
// Thread-safety: JudgeFuseRead and CounterGrowth are pure; RunFuseProbe may
// run on several threads (their windows then overlap and count each other).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "collectors/probe.h"
#include "collectors/source/status.h"

namespace ibpath {

// Share of the bytes read that must have arrived over a device class for
// the verdict to name it.
inline constexpr double kFuseCoverage = 0.9;
inline constexpr int kMaxStuckReads = 4;

struct FuseVerdict {
  bool on_data_device = false;
  bool local_only = false;  // a co-located worker, over loopback
  // "" when on the data device or local only; else no_network_read,
  // route_not_data_device or rx_not_on_data_device.
  std::string reason;
  std::string device;          // the device the verdict is about ("" none)
  uint64_t network_bytes = 0;  // sum of the per-device growth
};

// The verdict from the per-device receive growth of the daemon's worker
// connections over the read (attributed to each connection's egress route,
// as the connection collector does) and the bytes the read returned. With
// `interface_rx` (each interface's receive growth over the same window), a
// verdict for the data device also needs the data devices to have received
// that share: a worker answering over Ethernet is invisible to the client's
// routes (rx_not_on_data_device, naming the interface that received most).
FuseVerdict JudgeFuseRead(const std::map<std::string, uint64_t>& connection_rx, uint64_t bytes_read,
                          const std::function<bool(std::string_view)>& is_data_device,
                          const std::function<bool(std::string_view)>& is_loopback,
                          const std::map<std::string, uint64_t>* interface_rx = nullptr);

// after - before per key, keeping only keys that grew.
std::map<std::string, uint64_t> CounterGrowth(const std::map<std::string, uint64_t>& before,
                                              const std::map<std::string, uint64_t>& after);

struct UncachedRead {
  // "" ok; fuse_open, not_fuse, fuse_read, short_read, timeout, fuse_stuck, cancelled
  std::string reason;
  std::string detail;
  std::string cache_bypass;  // o_direct or fadvise
  uint64_t bytes = 0;
  double open_seconds = 0, first_byte_seconds = 0, transfer_seconds = 0;
  // After a finished read the file stays open until this is released (the
  // FUSE daemon keeps its connection for an open file).
  std::shared_ptr<void> hold;
};

// Reads at most `max_bytes` of `path` past the page cache on a helper
// thread; gives up (abandoning the thread) after `timeout`.
UncachedRead ReadUncached(const std::string& path, uint64_t max_bytes,
                          std::chrono::milliseconds timeout,
                          const std::atomic<bool>* cancel = nullptr);

// One FUSE probe. Never throws; outcome.kind is "fuse".
ProbeOutcome RunFuseProbe(const std::string& path, uint64_t bytes, const ProbeSettings& settings,
                          const ConnectionRxSampler& sampler,
                          const std::atomic<bool>* cancel = nullptr);

}  // namespace ibpath
