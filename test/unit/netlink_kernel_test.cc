// Against the real kernel, over loopback only: works unprivileged and in any
// namespace, so it runs everywhere the unit tests run.
#include <gtest/gtest.h>

#include "collectors/source/netlink_route.h"
#include "collectors/source/sock_diag.h"

namespace ibpath {
namespace {

// Regression: a route lookup once left the kernel's ACK queued on the socket,
// so every other dump on it came back empty and the next one failed.
TEST(RouteNetlinkKernel, LookupsDoNotDisturbLaterDumps) {
  auto nl = RouteNetlink::Open();
  ASSERT_TRUE(nl.ok()) << nl.status().ToString();
  const IpAddress lo = *IpAddress::Parse("127.0.0.1");
  for (int round = 0; round < 3; ++round) {
    auto snap = (*nl)->ReadSnapshot();
    ASSERT_TRUE(snap.ok()) << "round " << round << ": " << snap.status().ToString();
    const Link* loopback = nullptr;
    for (const Link& l : snap->links) {
      if (l.transport == Transport::kLoopback) loopback = &l;
    }
    ASSERT_NE(loopback, nullptr) << "round " << round << ": no loopback in the link dump";
    for (int i = 0; i < 3; ++i) {
      auto oif = (*nl)->LookupRoute(RouteQuery{lo, lo, 0, 0, 0});
      ASSERT_TRUE(oif.ok()) << oif.status().ToString();
      EXPECT_EQ(*oif, loopback->ifindex);
    }
  }
}

TEST(RouteNetlinkKernel, MismatchedFamiliesAreRefused) {
  auto nl = RouteNetlink::Open();
  ASSERT_TRUE(nl.ok());
  auto r = (*nl)->LookupRoute(
      RouteQuery{*IpAddress::Parse("127.0.0.1"), *IpAddress::Parse("::1"), 0, 0, 0});
  EXPECT_FALSE(r.ok());
}

TEST(TcpDiagKernel, RepeatedDumpsSucceed) {
  auto diag = TcpDiag::Open();
  ASSERT_TRUE(diag.ok()) << diag.status().ToString();
  const auto filter = BuildPortFilter({29997, 29999});
  for (int i = 0; i < 3; ++i) {
    auto r = (*diag)->Dump(filter, [](const TcpSocket&) {});
    ASSERT_TRUE(r.ok()) << "dump " << i << ": " << r.status().ToString();
    EXPECT_EQ(r->parse_errors, 0u);
  }
}

}  // namespace
}  // namespace ibpath
