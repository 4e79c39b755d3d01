// Netlink attribute walking: ParseInetDiag over arbitrary bytes taken as one
// SOCK_DIAG_BY_FAMILY message, and over the same bytes as the payload behind
// a well-formed header (so the fuzzer spends its time on the attributes).
// Invariants: a parsed socket came from a message long enough to hold
// inet_diag_msg, of family AF_INET or AF_INET6, whose addresses are of that
// family; parsing is deterministic; bytes past nlmsg_len never matter.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "collectors/source/sock_diag.h"
#include "test/fuzz/fuzz_check.h"

namespace {

void CheckParsed(const ibpath::Result<ibpath::TcpSocket>& r, const uint8_t* msg, std::size_t len) {
  if (!r.ok()) {
    FUZZ_CHECK(!r.status().message().empty());
    return;
  }
  FUZZ_CHECK(len >= NLMSG_HDRLEN + sizeof(inet_diag_msg));
  nlmsghdr hdr;
  std::memcpy(&hdr, msg, sizeof hdr);
  FUZZ_CHECK(hdr.nlmsg_type == SOCK_DIAG_BY_FAMILY);
  FUZZ_CHECK(hdr.nlmsg_len <= len && hdr.nlmsg_len >= NLMSG_HDRLEN + sizeof(inet_diag_msg));
  inet_diag_msg m;
  std::memcpy(&m, msg + NLMSG_HDRLEN, sizeof m);
  FUZZ_CHECK(m.idiag_family == AF_INET || m.idiag_family == AF_INET6);
  // IPv4-mapped IPv6 addresses come back as IPv4 (ip_address.h).
  auto mapped = [](const uint32_t* a) { return a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffff); };
  if (m.idiag_family == AF_INET) {
    FUZZ_CHECK(r->local.size() == 4 && r->remote.size() == 4);
  } else {
    FUZZ_CHECK(r->local.size() == (mapped(m.id.idiag_src) ? 4u : 16u));
    FUZZ_CHECK(r->remote.size() == (mapped(m.id.idiag_dst) ? 4u : 16u));
  }
  FUZZ_CHECK(r->state == m.idiag_state);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using ibpath::ParseInetDiag;
  // 1. The raw bytes as a whole message (exact-size buffer: overreads trap).
  const auto raw = ParseInetDiag(data, size);
  CheckParsed(raw, data, size);
  const auto raw_again = ParseInetDiag(data, size);
  FUZZ_CHECK(raw.ok() == raw_again.ok());

  // 2. A valid header in front, and trailing garbage after nlmsg_len that
  //    must not change the answer.
  const std::size_t len = NLMSG_HDRLEN + size;
  if (len > UINT32_MAX) return 0;
  std::vector<uint8_t> msg(len);
  nlmsghdr hdr{};
  hdr.nlmsg_len = static_cast<uint32_t>(len);
  hdr.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  std::memcpy(msg.data(), &hdr, sizeof hdr);
  if (size) std::memcpy(msg.data() + NLMSG_HDRLEN, data, size);
  const auto wrapped = ParseInetDiag(msg.data(), msg.size());
  CheckParsed(wrapped, msg.data(), msg.size());

  std::vector<uint8_t> padded(msg);
  padded.insert(padded.end(), {0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x02, 0x00});
  const auto with_tail = ParseInetDiag(padded.data(), padded.size());
  FUZZ_CHECK(with_tail.ok() == wrapped.ok());
  if (wrapped.ok()) {
    FUZZ_CHECK(with_tail->cookie == wrapped->cookie);
    FUZZ_CHECK(with_tail->bytes_acked == wrapped->bytes_acked);
    FUZZ_CHECK(with_tail->bytes_received == wrapped->bytes_received);
    FUZZ_CHECK(with_tail->mark == wrapped->mark);
  }
  return 0;
}
