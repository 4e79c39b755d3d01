#include "collectors/conn_ledger.h"

#include <algorithm>

namespace ibpath {

std::string_view SideName(Side s) { return s == Side::kServer ? "server" : "client"; }

uint32_t ConnLedger::Intern(const FlowKey& key) {
  auto it = key_ids_.find(key);
  if (it != key_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(keys_.size());
  keys_.push_back(key);
  totals_.emplace_back();
  key_ids_.emplace(key, id);
  return id;
}

void ConnLedger::Add(uint32_t key_id, Entry& e, uint64_t acked, uint64_t received) {
  // tcp_info counters of one socket only grow. A smaller value means the
  // kernel reported something we cannot explain; count nothing rather than
  // a wrapped-around huge delta, and note it.
  if (acked < e.acked || received < e.received) {
    ++counter_regressions_;
  } else {
    totals_[key_id].transmit += acked - e.acked;
    totals_[key_id].receive += received - e.received;
  }
  e.acked = std::max(e.acked, acked);
  e.received = std::max(e.received, received);
}

void ConnLedger::BeginSample() {
  ++sample_;
  in_baseline_ = !baselined_;
}

void ConnLedger::Observe(uint64_t cookie, const FlowKey& key, uint64_t acked, uint64_t received) {
  const uint32_t id = Intern(key);
  auto [it, inserted] = sockets_.try_emplace(cookie);
  Entry& e = it->second;
  if (inserted && in_baseline_) {
    e.acked = acked;
    e.received = received;
  } else {
    Add(id, e, acked, received);
  }
  e.key_id = id;
  e.missed_samples = 0;
  e.seen_in_sample = sample_;
}

void ConnLedger::EndSample(bool complete) {
  if (complete) {
    for (auto it = sockets_.begin(); it != sockets_.end();) {
      Entry& e = it->second;
      if (e.seen_in_sample != sample_ && ++e.missed_samples > kGraceSamples) {
        departed_order_.emplace_back(sample_, it->first);
        departed_[it->first] = e;
        it = sockets_.erase(it);
      } else {
        ++it;
      }
    }
  }
  ExpireDeparted(complete);
  if (in_baseline_ && complete) baselined_ = true;
  in_baseline_ = false;
}

void ConnLedger::ExpireDeparted(bool age) {
  while (!departed_order_.empty()) {
    const auto [since, cookie] = departed_order_.front();
    const bool too_many = departed_.size() > kMaxDeparted;
    if (!too_many && !(age && sample_ - since >= kDepartedSamples)) break;
    departed_order_.pop_front();
    // A cookie whose notice came is already gone from departed_.
    if (departed_.erase(cookie) != 0) ++unaccounted_closes_;
  }
}

void ConnLedger::Destroyed(uint64_t cookie, uint64_t acked, uint64_t received,
                           const std::function<std::optional<FlowKey>()>& classify) {
  auto it = sockets_.find(cookie);
  if (it != sockets_.end()) {
    Add(it->second.key_id, it->second, acked, received);
    sockets_.erase(it);
    return;
  }
  if (auto d = departed_.find(cookie); d != departed_.end()) {
    Add(d->second.key_id, d->second, acked, received);
    departed_.erase(d);  // its departed_order_ record is skipped when it comes up
    return;
  }
  // Before the baseline we cannot tell a socket born before the agent from
  // one born after it; leave it out rather than risk counting old bytes.
  if (!baselined_) return;
  std::optional<FlowKey> key = classify();
  if (!key) return;
  Entry fresh;
  Add(Intern(*key), fresh, acked, received);
}

void ConnLedger::Rebaseline() {
  sockets_.clear();
  departed_.clear();
  departed_order_.clear();
  baselined_ = false;
}

std::map<FlowKey, ConnLedger::Totals> ConnLedger::FlowTotals() const {
  std::map<FlowKey, Totals> out;
  for (std::size_t i = 0; i < keys_.size(); ++i) out[keys_[i]] = totals_[i];
  return out;
}

std::map<FlowKey, uint64_t> ConnLedger::LiveConnections() const {
  std::map<FlowKey, uint64_t> out;
  for (const auto& [cookie, e] : sockets_) {
    if (e.seen_in_sample == sample_) ++out[keys_[e.key_id]];
  }
  return out;
}

}  // namespace ibpath
