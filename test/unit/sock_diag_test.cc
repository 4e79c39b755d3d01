#include "collectors/source/sock_diag.h"

#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

namespace ibpath {
namespace {

// The kernel's inet_diag_bc_audit (net/ipv4/inet_diag.c), restricted to the
// ops BuildPortFilter emits: it walks the `yes` chain from the start, and
// every `no` target must be reachable on that chain. A program it rejects
// makes the whole dump fail with EINVAL, so the test holds ours to it.
bool ValidCc(const std::vector<uint8_t>& bc, int len, int cc) {
  int pos = 0;
  while (len >= 0) {
    if (cc > len) return false;
    if (cc == len) return true;
    inet_diag_bc_op op;
    std::memcpy(&op, bc.data() + pos, sizeof(op));
    if (op.yes < 4 || (op.yes & 3)) return false;
    len -= op.yes;
    pos += op.yes;
  }
  return false;
}

bool KernelAccepts(const std::vector<uint8_t>& bc) {
  int len = static_cast<int>(bc.size());
  int pos = 0;
  while (len > 0) {
    inet_diag_bc_op op;
    std::memcpy(&op, bc.data() + pos, sizeof(op));
    int min_len = sizeof(inet_diag_bc_op);
    switch (op.code) {
      case INET_DIAG_BC_S_GE:
      case INET_DIAG_BC_S_LE:
      case INET_DIAG_BC_D_GE:
      case INET_DIAG_BC_D_LE:
        min_len += sizeof(inet_diag_bc_op);
        if (len < min_len) return false;
        break;
      case INET_DIAG_BC_JMP: break;
      default: return false;
    }
    if (op.no < min_len || op.no > len + 4 || (op.no & 3)) return false;
    if (op.no < len && !ValidCc(bc, static_cast<int>(bc.size()), len - op.no)) return false;
    if (op.yes < min_len || op.yes > len + 4 || (op.yes & 3)) return false;
    pos += op.yes;
    len -= op.yes;
  }
  return len == 0;
}

TEST(PortFilter, EmptyPortListAcceptsAll) { EXPECT_TRUE(BuildPortFilter({}).empty()); }

TEST(PortFilter, KernelAuditAcceptsEverySize) {
  std::vector<uint16_t> ports;
  for (uint16_t p = 1; p <= 12; ++p) {
    ports.push_back(static_cast<uint16_t>(29990 + p));
    EXPECT_TRUE(KernelAccepts(BuildPortFilter(ports))) << ports.size() << " ports";
  }
}

TEST(PortFilter, MatchesSourceOrDestinationPort) {
  const auto bc = BuildPortFilter({29997, 29999, 28080});
  struct Case {
    uint16_t sport, dport;
    bool want;
  } cases[] = {
      {29997, 40000, true},  {40000, 29997, true},  {29999, 1, true},     {1, 28080, true},
      {29998, 40000, false}, {40000, 29998, false}, {0, 0, false},        {65535, 65535, false},
      {28079, 28081, false}, {29996, 29998, false}, {28080, 28080, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RunPortFilter(bc, c.sport, c.dport), c.want) << c.sport << " -> " << c.dport;
  }
}

TEST(PortFilter, SinglePort) {
  const auto bc = BuildPortFilter({29997});
  EXPECT_TRUE(KernelAccepts(bc));
  EXPECT_TRUE(RunPortFilter(bc, 29997, 1));
  EXPECT_TRUE(RunPortFilter(bc, 1, 29997));
  EXPECT_FALSE(RunPortFilter(bc, 29998, 29996));
}

// Builds a SOCK_DIAG_BY_FAMILY message the way the kernel lays it out.
class MessageBuilder {
 public:
  MessageBuilder(int family, uint8_t state) {
    buf_.resize(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(inet_diag_msg)));
    inet_diag_msg m{};
    m.idiag_family = static_cast<uint8_t>(family);
    m.idiag_state = state;
    std::memcpy(buf_.data() + NLMSG_HDRLEN, &m, sizeof(m));
  }
  inet_diag_msg* msg() { return reinterpret_cast<inet_diag_msg*>(buf_.data() + NLMSG_HDRLEN); }
  void Attr(uint16_t type, const void* data, std::size_t len) {
    nlattr a{static_cast<uint16_t>(NLA_HDRLEN + len), type};
    const std::size_t at = buf_.size();
    buf_.resize(at + NLA_ALIGN(NLA_HDRLEN + len));
    std::memcpy(buf_.data() + at, &a, sizeof(a));
    std::memcpy(buf_.data() + at + NLA_HDRLEN, data, len);
  }
  std::vector<uint8_t> Build() {
    nlmsghdr h{};
    h.nlmsg_len = static_cast<uint32_t>(buf_.size());
    h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    std::memcpy(buf_.data(), &h, sizeof(h));
    return buf_;
  }

 private:
  std::vector<uint8_t> buf_;
};

TEST(ParseInetDiag, Ipv4WithTcpInfoAndMark) {
  MessageBuilder b(AF_INET, 1);
  inet_diag_msg* m = b.msg();
  const uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {198, 18, 0, 2};
  std::memcpy(m->id.idiag_src, src, 4);
  std::memcpy(m->id.idiag_dst, dst, 4);
  m->id.idiag_sport = htons(29997);
  m->id.idiag_dport = htons(41000);
  m->id.idiag_if = 3;
  m->id.idiag_cookie[0] = 0x11223344;
  m->id.idiag_cookie[1] = 0x55;
  m->idiag_uid = 1000;
  m->idiag_inode = 777;
  tcp_info ti{};
  ti.tcpi_bytes_acked = 123456789012ull;
  ti.tcpi_bytes_received = 42;
  b.Attr(INET_DIAG_INFO, &ti, sizeof(ti));
  const uint32_t mark = 0x10;
  b.Attr(INET_DIAG_MARK, &mark, sizeof(mark));
  auto bytes = b.Build();

  auto s = ParseInetDiag(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->local.ToString(), "198.18.0.1");
  EXPECT_EQ(s->remote.ToString(), "198.18.0.2");
  EXPECT_EQ(s->local_port, 29997);
  EXPECT_EQ(s->remote_port, 41000);
  EXPECT_EQ(s->bound_ifindex, 3u);
  EXPECT_EQ(s->cookie, 0x5511223344ull);
  EXPECT_EQ(s->uid, 1000u);
  EXPECT_EQ(s->inode, 777u);
  EXPECT_EQ(s->state, 1);
  EXPECT_EQ(s->bytes_acked, 123456789012ull);
  EXPECT_EQ(s->bytes_received, 42u);
  EXPECT_EQ(s->mark, 0x10u);
}

TEST(ParseInetDiag, V4MappedIpv6FoldsToIpv4) {
  MessageBuilder b(AF_INET6, 1);
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 9};
  std::memcpy(b.msg()->id.idiag_src, mapped, 16);
  auto bytes = b.Build();
  auto s = ParseInetDiag(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->local.family, AF_INET);
  EXPECT_EQ(s->local.ToString(), "198.18.0.9");
}

TEST(ParseInetDiag, OldKernelTcpInfoWithoutByteCounters) {
  MessageBuilder b(AF_INET, 1);
  tcp_info ti{};
  // Kernels before 4.1 end tcp_info before bytes_acked.
  b.Attr(INET_DIAG_INFO, &ti, offsetof(tcp_info, tcpi_bytes_acked));
  auto bytes = b.Build();
  auto s = ParseInetDiag(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->bytes_acked.has_value());
  EXPECT_FALSE(s->bytes_received.has_value());
}

TEST(ParseInetDiag, RejectsMalformedMessages) {
  MessageBuilder b(AF_INET, 1);
  tcp_info ti{};
  b.Attr(INET_DIAG_INFO, &ti, sizeof(ti));
  const auto good = b.Build();

  // Truncations at every length must be refused or parsed, never read past.
  for (std::size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
    auto s = ParseInetDiag(cut.data(), cut.size());
    EXPECT_FALSE(s.ok()) << "accepted a message cut to " << n << " bytes";
  }
  auto wrong_family = good;
  reinterpret_cast<inet_diag_msg*>(wrong_family.data() + NLMSG_HDRLEN)->idiag_family = 99;
  EXPECT_FALSE(ParseInetDiag(wrong_family.data(), wrong_family.size()).ok());

  auto bad_attr = good;
  nlattr a;
  const std::size_t attr_at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(inet_diag_msg));
  std::memcpy(&a, bad_attr.data() + attr_at, sizeof(a));
  a.nla_len = 0xffff;
  std::memcpy(bad_attr.data() + attr_at, &a, sizeof(a));
  auto s = ParseInetDiag(bad_attr.data(), bad_attr.size());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("overruns"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace ibpath
