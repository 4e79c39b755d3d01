// rtnetlink through libnl-route: interfaces, their addresses, and the
// kernel's answer to "which device would this packet leave on".
//
// Contract: everything is read from the network namespace the socket was
// opened in (the caller's at construction time). Functions return plain
// structs; they know nothing about metrics.
// Thread-safety: one RouteNetlink per thread; the struct results are values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collectors/source/ip_address.h"
#include "collectors/source/status.h"

struct nl_sock;

namespace ibpath {

enum class Transport { kInfiniband, kEthernet, kLoopback, kOther };
std::string_view TransportName(Transport t);

struct LinkStats {
  uint64_t rx_bytes = 0, tx_bytes = 0;
  uint64_t rx_packets = 0, tx_packets = 0;
  uint64_t rx_errors = 0, tx_errors = 0;
  uint64_t rx_dropped = 0, tx_dropped = 0;
};

struct Link {
  int ifindex = 0;
  std::string name;
  uint32_t arptype = 0;   // ARPHRD_*: 32 for IPoIB, 1 for Ethernet (and veth), 772 loopback
  std::string kind;       // rtnl "kind" (bond, veth, vlan, ipoib, ...); empty for plain hardware
  std::string operstate;  // RFC 2863 name in lower case: up, down, lowerlayerdown, unknown, ...
  uint32_t mtu = 0;
  int master_ifindex = 0;  // 0 when not enslaved
  std::optional<LinkStats> stats;
  Transport transport = Transport::kOther;  // filled by DeriveTransports
};

struct LinkAddress {
  int ifindex = 0;
  IpAddress address;
  uint8_t prefix_len = 0;
};

// The interfaces and addresses of one namespace at one moment.
struct NetSnapshot {
  std::vector<Link> links;
  std::vector<LinkAddress> addresses;

  const Link* ByIndex(int ifindex) const;
  const Link* ByName(std::string_view name) const;
  // The interface that has `addr` assigned, if any.
  const Link* OwnerOf(const IpAddress& addr) const;
  std::string NameOf(int ifindex) const;  // "" when unknown
  std::string MasterName(const Link& link) const;
};

// Sets Link::transport for every link: infiniband for ARPHRD_INFINIBAND and
// for a bond whose slaves are all IPoIB; ethernet, loopback, or other.
void DeriveTransports(std::vector<Link>& links);

// What a route lookup is asked, like `ip route get DST from SRC [oif DEV]
// [mark M] [uid U]`.
struct RouteQuery {
  IpAddress source;
  IpAddress destination;
  uint32_t oif = 0;   // socket's bound device (SO_BINDTODEVICE), 0 if none
  uint32_t mark = 0;  // socket mark (SO_MARK), 0 if none
  uint32_t uid = 0;   // socket owner; matters for `ip rule ... uidrange`
  bool operator==(const RouteQuery&) const = default;
};

struct RouteQueryHash {
  std::size_t operator()(const RouteQuery& q) const;
};

// The seam route lookups go through, so the cache and the accounting can be
// tested without a kernel.
class RouteLookup {
 public:
  virtual ~RouteLookup() = default;
  // The ifindex the kernel's FIB (policy rules included) picks for `q`.
  // Errors carry the kernel's reason, e.g. "network is unreachable".
  virtual Result<int> LookupRoute(const RouteQuery& q) = 0;
};

class RouteNetlink : public RouteLookup {
 public:
  // Opens a NETLINK_ROUTE socket in the calling thread's network namespace.
  static Result<std::unique_ptr<RouteNetlink>> Open();
  ~RouteNetlink();
  RouteNetlink(const RouteNetlink&) = delete;
  RouteNetlink& operator=(const RouteNetlink&) = delete;

  Result<std::vector<Link>> ReadLinks();
  Result<std::vector<LinkAddress>> ReadAddresses();
  // Links (with transports derived) and addresses together.
  Result<NetSnapshot> ReadSnapshot();

  Result<int> LookupRoute(const RouteQuery& q) override;

 private:
  explicit RouteNetlink(nl_sock* sock) : sock_(sock) {}
  nl_sock* sock_;
};

// Caches route lookups within one sample: Alluxio nodes talk to a few peers
// over many connections, so one lookup per (source, destination, oif, mark,
// uid) is enough. Clear() between samples so route changes are seen.
class RouteCache {
 public:
  explicit RouteCache(RouteLookup* lookup) : lookup_(lookup) {}
  Result<int> Lookup(const RouteQuery& q);
  void Clear() { cache_.clear(); }
  uint64_t lookups() const { return lookups_; }
  uint64_t hits() const { return hits_; }

 private:
  RouteLookup* lookup_;
  std::unordered_map<RouteQuery, Result<int>, RouteQueryHash> cache_;
  uint64_t lookups_ = 0;
  uint64_t hits_ = 0;
};

}  // namespace ibpath
