// Route cache, transports, expected devices: the pure parts of the network model.
#include <gtest/gtest.h>
#include <linux/if_arp.h>

#include "collectors/datapath.h"
#include "collectors/source/netlink_route.h"

namespace ibpath {
namespace {

class FakeRoutes : public RouteLookup {
 public:
  Result<int> LookupRoute(const RouteQuery& q) override {
    ++calls;
    if (q.destination.ToString() == "198.51.100.99") {
      return Status::FromErrno(101, "route lookup 198.51.100.99");
    }
    return q.destination.ToString() == "198.19.0.2" ? 3 : 2;
  }
  int calls = 0;
};

RouteQuery Q(const char* src, const char* dst, uint32_t oif = 0, uint32_t mark = 0) {
  return RouteQuery{*IpAddress::Parse(src), *IpAddress::Parse(dst), oif, mark, 0};
}

TEST(RouteCache, OneLookupPerDistinctQuery) {
  FakeRoutes fake;
  RouteCache cache(&fake);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(*cache.Lookup(Q("198.18.0.1", "198.18.0.2")), 2);
  }
  EXPECT_EQ(*cache.Lookup(Q("198.18.0.1", "198.19.0.2")), 3);
  EXPECT_EQ(fake.calls, 2);
  // A bound device or a mark can change the answer: separate entries.
  cache.Lookup(Q("198.18.0.1", "198.18.0.2", 5));
  cache.Lookup(Q("198.18.0.1", "198.18.0.2", 0, 7));
  EXPECT_EQ(fake.calls, 4);
  EXPECT_EQ(cache.lookups(), 103u);
  EXPECT_EQ(cache.hits(), 99u);
}

TEST(RouteCache, ErrorsAreCachedAndClearStartsOver) {
  FakeRoutes fake;
  RouteCache cache(&fake);
  EXPECT_FALSE(cache.Lookup(Q("198.18.0.1", "198.51.100.99")).ok());
  EXPECT_FALSE(cache.Lookup(Q("198.18.0.1", "198.51.100.99")).ok());
  EXPECT_EQ(fake.calls, 1);
  cache.Clear();
  cache.Lookup(Q("198.18.0.1", "198.51.100.99"));
  EXPECT_EQ(fake.calls, 2);
}

Link MakeLink(int index, std::string name, uint32_t arptype, std::string kind = "",
              int master = 0) {
  Link l;
  l.ifindex = index;
  l.name = std::move(name);
  l.arptype = arptype;
  l.kind = std::move(kind);
  l.master_ifindex = master;
  return l;
}

TEST(Transports, DerivedFromLinkTypeNotName) {
  std::vector<Link> links = {
      MakeLink(1, "lo", ARPHRD_LOOPBACK),
      MakeLink(2, "eth0", ARPHRD_ETHER),
      MakeLink(3, "ibp12s0", ARPHRD_INFINIBAND),
      MakeLink(4, "net1", ARPHRD_INFINIBAND),
      MakeLink(5, "ib_fake", ARPHRD_ETHER, "veth"),
      MakeLink(6, "tun0", ARPHRD_NONE),
      MakeLink(7, "ib0.8001", ARPHRD_INFINIBAND, "ipoib"),
  };
  DeriveTransports(links);
  EXPECT_EQ(links[0].transport, Transport::kLoopback);
  EXPECT_EQ(links[1].transport, Transport::kEthernet);
  EXPECT_EQ(links[2].transport, Transport::kInfiniband);
  EXPECT_EQ(links[3].transport, Transport::kInfiniband);
  EXPECT_EQ(links[4].transport, Transport::kEthernet);
  EXPECT_EQ(links[5].transport, Transport::kOther);
  EXPECT_EQ(links[6].transport, Transport::kInfiniband);
}

TEST(Transports, BondFollowsItsSlaves) {
  std::vector<Link> links = {
      MakeLink(10, "bond0", ARPHRD_ETHER, "bond"),  // reads as Ethernet until judged by slaves
      MakeLink(11, "ib0", ARPHRD_INFINIBAND, "", 10),
      MakeLink(12, "ib1", ARPHRD_INFINIBAND, "", 10),
      MakeLink(20, "bond1", ARPHRD_ETHER, "bond"),
      MakeLink(21, "ib2", ARPHRD_INFINIBAND, "", 20),
      MakeLink(22, "eth5", ARPHRD_ETHER, "", 20),
      MakeLink(30, "bond2", ARPHRD_ETHER, "bond"),  // no slaves
  };
  DeriveTransports(links);
  EXPECT_EQ(links[0].transport, Transport::kInfiniband);
  EXPECT_EQ(links[3].transport, Transport::kEthernet) << "mixed slaves are not all IPoIB";
  EXPECT_EQ(links[6].transport, Transport::kEthernet);
}

NetSnapshot BondedNode() {
  NetSnapshot net;
  net.links = {
      MakeLink(1, "lo", ARPHRD_LOOPBACK),
      MakeLink(2, "eno1", ARPHRD_ETHER),
      MakeLink(10, "bond0", ARPHRD_INFINIBAND, "bond"),
      MakeLink(11, "ib0", ARPHRD_INFINIBAND, "", 10),
      MakeLink(12, "ib1", ARPHRD_INFINIBAND, "", 10),
  };
  DeriveTransports(net.links);
  return net;
}

TEST(ExpectedDevices, FlagBeatsConfigBeatsAuto) {
  NetSnapshot net = BondedNode();
  AlluxioConf conf = DefaultAlluxioConf();
  conf.bind_devices = {{"alluxio.worker.data.bind.device", "ib1"}};

  auto e = ResolveExpectedDevices({"ib0"}, conf, net);
  EXPECT_EQ(e.source, "flag");
  EXPECT_EQ(e.devices, std::vector<std::string>{"ib0"});

  e = ResolveExpectedDevices({}, conf, net);
  EXPECT_EQ(e.source, "alluxio-conf");
  EXPECT_EQ(e.devices, std::vector<std::string>{"ib1"});

  e = ResolveExpectedDevices({}, DefaultAlluxioConf(), net);
  EXPECT_EQ(e.source, "auto");
  EXPECT_EQ(e.devices, (std::vector<std::string>{"bond0", "ib0", "ib1"}));
}

TEST(ExpectedDevices, DuplicatesFromSeveralKeysCollapse) {
  AlluxioConf conf = DefaultAlluxioConf();
  conf.bind_devices = {{"alluxio.worker.data.bind.device", "ib0"},
                       {"alluxio.worker.rpc.bind.device", "ib0"}};
  auto e = ResolveExpectedDevices({}, conf, BondedNode());
  EXPECT_EQ(e.devices, std::vector<std::string>{"ib0"});
}

TEST(ExpectedDevices, CoversBondMastersAndMembers) {
  NetSnapshot net = BondedNode();
  ExpectedDevices member{"alluxio-conf", {"ib0"}};
  EXPECT_TRUE(member.Covers(net, "ib0"));
  EXPECT_TRUE(member.Covers(net, "bond0")) << "routes name the bond the member belongs to";
  EXPECT_FALSE(member.Covers(net, "eno1"));
  EXPECT_FALSE(member.Covers(net, "lo"));
  EXPECT_FALSE(member.Covers(net, "gone0"));

  ExpectedDevices master{"flag", {"bond0"}};
  EXPECT_TRUE(master.Covers(net, "ib1"));
  EXPECT_FALSE(master.Covers(net, "eno1"));
}

TEST(IpAddress, ParseFormatAndClassify) {
  EXPECT_EQ(IpAddress::Parse("::ffff:198.18.0.1")->ToString(), "198.18.0.1");
  EXPECT_EQ(IpAddress::Parse("fe80::1")->ToString(), "fe80::1");
  EXPECT_TRUE(IpAddress::Parse("fe80::1")->IsLinkLocal());
  EXPECT_TRUE(IpAddress::Parse("0.0.0.0")->IsUnspecified());
  EXPECT_TRUE(IpAddress::Parse("::")->IsUnspecified());
  EXPECT_FALSE(IpAddress::Parse("198.18.0.1")->IsUnspecified());
  EXPECT_TRUE(IpAddress::Parse("127.0.0.5")->IsLoopback());
  EXPECT_TRUE(IpAddress::Parse("::1")->IsLoopback());
  EXPECT_FALSE(IpAddress::Parse("not-an-ip").has_value());
  EXPECT_FALSE(IpAddress::Parse("").has_value());
}

}  // namespace
}  // namespace ibpath
