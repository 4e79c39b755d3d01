// AdvertisedHosts: what the hosts a node advertises (alluxio.worker.hostname,
// alluxio.user.hostname) resolve to through this node's own resolver
// (getaddrinfo: /etc/hosts, DNS, nsswitch), so "the worker's hostname
// resolves to its Ethernet address" shows before any byte moves.
//
// Contract: Refresh() may block on DNS; call it off the scrape path (the
// agent's housekeeping thread). Results() is cheap.
// Thread-safety: all methods are safe from any thread.
#pragma once

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "collectors/source/ip_address.h"
#include "collectors/source/status.h"

namespace ibpath {

struct ResolvedHost {
  std::string property;
  std::string host;
  std::vector<IpAddress> addresses;  // empty when resolution failed
  std::string error;                 // the resolver's reason, when it failed
};

// Resolves `host` the way Java's InetAddress.getAllByName does through the
// system resolver. A literal address resolves to itself.
Result<std::vector<IpAddress>> ResolveHost(const std::string& host);

class AdvertisedHosts {
 public:
  // (property, host) pairs from the current configuration.
  void Refresh(const std::vector<std::pair<std::string, std::string>>& hosts);
  std::vector<ResolvedHost> Results() const;

 private:
  mutable std::mutex mu_;
  std::vector<ResolvedHost> results_;
};

}  // namespace ibpath
