// ConnLedger: turns per-socket byte counters (tcp_info bytes_acked and
// bytes_received, which start at zero for every socket) into per-flow
// counters that never go down and never count a byte twice.
//
// How: each sample, a live socket's growth since it was last seen is added to
// the flow it is attributed to now (so bytes follow a route change). A socket
// first seen after the baseline sample was born since the previous sample,
// so all its bytes are new. A destroy notice adds what the socket moved since
// it was last seen, then forgets it. A socket that vanishes from the dumps
// without a notice is kept for `kGraceSamples` samples, then moved to a
// departed list: its notice can trail the dumps by many samples (it is queued
// in a kernel work item, and when the agent scrapes often or resynchronises
// after lost notices, samples come quickly), and a late notice must add only
// what the socket moved since it was last seen, never all its bytes again.
// A departed socket whose notice never comes is counted as unaccounted after
// `kDepartedSamples` samples, or earlier when more than `kMaxDeparted` wait.
// The baseline sample (the first, or the first after Rebaseline()) counts
// nothing: bytes moved before the agent was watching are not its to report.
//
// Thread-safety: not thread-safe; the owner serializes samples and notices.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ibpath {

enum class Side : uint8_t { kServer, kClient };
std::string_view SideName(Side s);

// Where a connection's bytes are attributed.
struct FlowKey {
  std::string role;  // worker_data, ...
  Side side = Side::kServer;
  std::string device;     // egress device from the route lookup, or "unknown"
  bool fallback = false;  // data-path role on a device that is not an expected data device
  auto operator<=>(const FlowKey&) const = default;
};

class ConnLedger {
 public:
  static constexpr int kGraceSamples = 2;
  static constexpr uint64_t kDepartedSamples = 256;
  static constexpr std::size_t kMaxDeparted = 32768;

  struct Totals {
    uint64_t transmit = 0;  // bytes acked by the peer
    uint64_t receive = 0;   // bytes received
  };

  // Starts a sample. Call Observe for every live socket, then EndSample.
  void BeginSample();
  void Observe(uint64_t cookie, const FlowKey& key, uint64_t acked, uint64_t received);
  // `complete` is false when the dump failed part-way: then absence from it
  // proves nothing and no socket is aged out.
  void EndSample(bool complete);

  // A socket's destroy notice with its final counters. `classify` attributes
  // a socket this ledger never saw; it is not called for known sockets.
  void Destroyed(uint64_t cookie, uint64_t acked, uint64_t received,
                 const std::function<std::optional<FlowKey>()>& classify);

  // Makes the next sample a baseline again (e.g. when the Alluxio ports
  // changed, so sockets never watched before suddenly match).
  void Rebaseline();

  bool baselined() const { return baselined_; }
  // Cumulative bytes per flow since the agent started watching.
  std::map<FlowKey, Totals> FlowTotals() const;
  // Sockets seen alive in the last sample, per flow.
  std::map<FlowKey, uint64_t> LiveConnections() const;
  std::size_t tracked_sockets() const { return sockets_.size(); }
  std::size_t departed_sockets() const { return departed_.size(); }
  uint64_t unaccounted_closes() const { return unaccounted_closes_; }
  uint64_t counter_regressions() const { return counter_regressions_; }

 private:
  struct Entry {
    uint64_t acked = 0;
    uint64_t received = 0;
    uint32_t key_id = 0;
    uint32_t missed_samples = 0;  // consecutive samples this socket was absent from
    uint64_t seen_in_sample = 0;
  };
  uint32_t Intern(const FlowKey& key);
  void Add(uint32_t key_id, Entry& e, uint64_t acked, uint64_t received);

  void ExpireDeparted(bool all_old);

  std::unordered_map<uint64_t, Entry> sockets_;
  // Sockets gone from the dumps, awaiting a late notice; the deque holds
  // (sample they departed in, cookie) oldest first.
  std::unordered_map<uint64_t, Entry> departed_;
  std::deque<std::pair<uint64_t, uint64_t>> departed_order_;
  std::vector<FlowKey> keys_;
  std::map<FlowKey, uint32_t> key_ids_;
  std::vector<Totals> totals_;  // by key id
  uint64_t sample_ = 0;
  bool in_baseline_ = false;
  bool baselined_ = false;
  uint64_t unaccounted_closes_ = 0;
  uint64_t counter_regressions_ = 0;
};

}  // namespace ibpath
