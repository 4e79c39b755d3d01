#include "collectors/source/netlink_route.h"

#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ibpath {
namespace {

Status NlError(int nl_err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += nl_geterror(nl_err);
  switch (nl_err < 0 ? -nl_err : nl_err) {
    case NLE_PERM: return Status::PermissionDenied(std::move(msg));
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV: return Status::NotFound(std::move(msg));
    default: return Status::IoError(std::move(msg));
  }
}

// Lower-case RFC 2863 names, as /sys/class/net/*/operstate spells them.
std::string OperstateName(uint8_t state) {
  switch (state) {
    case IF_OPER_UNKNOWN: return "unknown";
    case IF_OPER_NOTPRESENT: return "notpresent";
    case IF_OPER_DOWN: return "down";
    case IF_OPER_LOWERLAYERDOWN: return "lowerlayerdown";
    case IF_OPER_TESTING: return "testing";
    case IF_OPER_DORMANT: return "dormant";
    case IF_OPER_UP: return "up";
    default: return "unknown";
  }
}

}  // namespace

std::string_view TransportName(Transport t) {
  switch (t) {
    case Transport::kInfiniband: return "infiniband";
    case Transport::kEthernet: return "ethernet";
    case Transport::kLoopback: return "loopback";
    case Transport::kOther: return "other";
  }
  return "other";
}

void DeriveTransports(std::vector<Link>& links) {
  std::unordered_map<int, std::pair<int, int>> slaves;  // master -> (slaves, ipoib slaves)
  for (const Link& l : links) {
    if (l.master_ifindex == 0) continue;
    auto& [all, ipoib] = slaves[l.master_ifindex];
    ++all;
    if (l.arptype == ARPHRD_INFINIBAND) ++ipoib;
  }
  for (Link& l : links) {
    if (l.kind == "bond") {
      // A bond takes its slaves' link type once the first slave joins; an
      // empty bond reads as Ethernet, so decide by the slaves when there are any.
      auto it = slaves.find(l.ifindex);
      if (it != slaves.end() && it->second.first > 0) {
        l.transport =
            it->second.first == it->second.second ? Transport::kInfiniband : Transport::kEthernet;
        continue;
      }
    }
    switch (l.arptype) {
      case ARPHRD_INFINIBAND: l.transport = Transport::kInfiniband; break;
      case ARPHRD_ETHER: l.transport = Transport::kEthernet; break;
      case ARPHRD_LOOPBACK: l.transport = Transport::kLoopback; break;
      default: l.transport = Transport::kOther; break;
    }
  }
}

const Link* NetSnapshot::ByIndex(int ifindex) const {
  for (const Link& l : links) {
    if (l.ifindex == ifindex) return &l;
  }
  return nullptr;
}

const Link* NetSnapshot::ByName(std::string_view name) const {
  for (const Link& l : links) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

const Link* NetSnapshot::OwnerOf(const IpAddress& addr) const {
  for (const LinkAddress& a : addresses) {
    if (a.address == addr) return ByIndex(a.ifindex);
  }
  return nullptr;
}

std::string NetSnapshot::NameOf(int ifindex) const {
  const Link* l = ByIndex(ifindex);
  return l == nullptr ? std::string() : l->name;
}

std::string NetSnapshot::MasterName(const Link& link) const {
  return link.master_ifindex == 0 ? std::string() : NameOf(link.master_ifindex);
}

std::size_t RouteQueryHash::operator()(const RouteQuery& q) const {
  IpAddressHash h;
  std::size_t v = h(q.source) * 31 + h(q.destination);
  v = v * 31 + q.oif;
  v = v * 31 + q.mark;
  return v * 31 + q.uid;
}

Result<std::unique_ptr<RouteNetlink>> RouteNetlink::Open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return Status::IoError("rtnetlink: cannot allocate socket");
  int err = nl_connect(sock, NETLINK_ROUTE);
  if (err < 0) {
    nl_socket_free(sock);
    return NlError(err, "rtnetlink: connect");
  }
  // nl_send_auto() asks for an ACK by default. LookupRoute stops reading at
  // the route itself, so the ACK would stay queued and the next dump on this
  // socket would take it for its end and return nothing. Errors are always
  // sent, so nothing is lost by not asking.
  nl_socket_disable_auto_ack(sock);
  return std::unique_ptr<RouteNetlink>(new RouteNetlink(sock));
}

RouteNetlink::~RouteNetlink() { nl_socket_free(sock_); }

Result<std::vector<Link>> RouteNetlink::ReadLinks() {
  nl_cache* cache = nullptr;
  int err = rtnl_link_alloc_cache(sock_, AF_UNSPEC, &cache);
  if (err < 0) return NlError(err, "rtnetlink: dumping links");
  std::vector<Link> links;
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    Link link;
    link.ifindex = rtnl_link_get_ifindex(l);
    const char* name = rtnl_link_get_name(l);
    link.name = name ? name : "";
    link.arptype = rtnl_link_get_arptype(l);
    const char* kind = rtnl_link_get_type(l);
    link.kind = kind ? kind : "";
    link.operstate = OperstateName(rtnl_link_get_operstate(l));
    link.mtu = rtnl_link_get_mtu(l);
    link.master_ifindex = rtnl_link_get_master(l);
    LinkStats s;
    s.rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
    s.tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
    s.rx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS);
    s.tx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS);
    s.rx_errors = rtnl_link_get_stat(l, RTNL_LINK_RX_ERRORS);
    s.tx_errors = rtnl_link_get_stat(l, RTNL_LINK_TX_ERRORS);
    s.rx_dropped = rtnl_link_get_stat(l, RTNL_LINK_RX_DROPPED);
    s.tx_dropped = rtnl_link_get_stat(l, RTNL_LINK_TX_DROPPED);
    link.stats = s;
    links.push_back(std::move(link));
  }
  nl_cache_free(cache);
  DeriveTransports(links);
  return links;
}

Result<std::vector<LinkAddress>> RouteNetlink::ReadAddresses() {
  nl_cache* cache = nullptr;
  int err = rtnl_addr_alloc_cache(sock_, &cache);
  if (err < 0) return NlError(err, "rtnetlink: dumping addresses");
  std::vector<LinkAddress> out;
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(a);
    if (local == nullptr) continue;
    LinkAddress la;
    la.ifindex = rtnl_addr_get_ifindex(a);
    la.prefix_len = static_cast<uint8_t>(rtnl_addr_get_prefixlen(a));
    const void* bin = nl_addr_get_binary_addr(local);
    unsigned int len = nl_addr_get_len(local);
    if (nl_addr_get_family(local) == AF_INET && len == 4) {
      la.address = IpAddress::V4(bin);
    } else if (nl_addr_get_family(local) == AF_INET6 && len == 16) {
      la.address = IpAddress::V6(bin);
    } else {
      continue;
    }
    out.push_back(la);
  }
  nl_cache_free(cache);
  return out;
}

Result<NetSnapshot> RouteNetlink::ReadSnapshot() {
  NetSnapshot snap;
  auto links = ReadLinks();
  if (!links.ok()) return links.status();
  snap.links = std::move(*links);
  auto addrs = ReadAddresses();
  if (!addrs.ok()) return addrs.status();
  snap.addresses = std::move(*addrs);
  return snap;
}

namespace {

struct RouteReply {
  int oif = 0;
  int error = 0;
  bool got = false;
};

int OnRouteReply(nl_msg* msg, void* arg) {
  auto* reply = static_cast<RouteReply*>(arg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  if (hdr->nlmsg_type != RTM_NEWROUTE) return NL_SKIP;
  nlattr* tb[RTA_MAX + 1];
  if (nlmsg_parse(hdr, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return NL_SKIP;
  reply->got = true;
  if (tb[RTA_OIF] != nullptr) reply->oif = static_cast<int>(nla_get_u32(tb[RTA_OIF]));
  return NL_OK;
}

int OnRouteError(sockaddr_nl*, nlmsgerr* err, void* arg) {
  static_cast<RouteReply*>(arg)->error = -err->error;
  return NL_STOP;
}

}  // namespace

Result<int> RouteNetlink::LookupRoute(const RouteQuery& q) {
  if (q.destination.family == 0 ||
      (q.source.family != 0 && q.source.family != q.destination.family)) {
    return Status::InvalidArgument("route lookup: source " + q.source.ToString() +
                                   " and destination " + q.destination.ToString() +
                                   " are not of one address family");
  }
  const auto addr_len = static_cast<int>(q.destination.size());
  rtmsg rtm{};
  rtm.rtm_family = static_cast<unsigned char>(q.destination.family);
  rtm.rtm_dst_len = static_cast<unsigned char>(addr_len * 8);
  rtm.rtm_src_len = q.source.family != 0 ? static_cast<unsigned char>(addr_len * 8) : 0;

  nl_msg* msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
  if (msg == nullptr) return Status::IoError("route lookup: cannot allocate message");
  bool built =
      nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) == 0 &&
      nla_put(msg, RTA_DST, addr_len, q.destination.bytes.data()) == 0 &&
      (q.source.family == 0 || nla_put(msg, RTA_SRC, addr_len, q.source.bytes.data()) == 0) &&
      (q.oif == 0 || nla_put_u32(msg, RTA_OIF, q.oif) == 0) &&
      (q.mark == 0 || nla_put_u32(msg, RTA_MARK, q.mark) == 0) &&
      nla_put_u32(msg, RTA_UID, q.uid) == 0;
  if (!built) {
    nlmsg_free(msg);
    return Status::IoError("route lookup: message too large");
  }
  int err = nl_send_auto(sock_, msg);
  nlmsg_free(msg);
  if (err < 0) return NlError(err, "route lookup: send");

  RouteReply reply;
  nl_cb* cb = nl_cb_alloc(NL_CB_DEFAULT);
  if (cb == nullptr) return Status::IoError("route lookup: cannot allocate callbacks");
  nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, OnRouteReply, &reply);
  nl_cb_err(cb, NL_CB_CUSTOM, OnRouteError, &reply);
  // The kernel answers a non-dump request with one message (or an error);
  // reading until we have it keeps a late reply from confusing the next call.
  while (!reply.got && reply.error == 0) {
    err = nl_recvmsgs(sock_, cb);
    if (err < 0 && reply.error == 0) {
      nl_cb_put(cb);
      return NlError(err, "route lookup: receive");
    }
  }
  nl_cb_put(cb);
  const std::string what =
      "route lookup " + q.destination.ToString() + " from " + q.source.ToString();
  if (reply.error != 0) return Status::FromErrno(reply.error, what);
  if (reply.oif == 0) return Status::NotFound(what + ": the kernel's answer names no device");
  return reply.oif;
}

Result<int> RouteCache::Lookup(const RouteQuery& q) {
  ++lookups_;
  auto it = cache_.find(q);
  if (it != cache_.end()) {
    ++hits_;
    return it->second;
  }
  Result<int> r = lookup_->LookupRoute(q);
  cache_.emplace(q, r);
  return r;
}

}  // namespace ibpath
