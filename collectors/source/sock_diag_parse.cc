// Pure parsing and bytecode: kernel UAPI headers only. Kept apart from the
// libnl socket code because libnl pulls in glibc's <netinet/tcp.h>, whose
// struct tcp_info predates bytes_acked and clashes with <linux/tcp.h>.
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "collectors/source/sock_diag.h"

namespace ibpath {
namespace {

template <typename T>
bool ReadField(const uint8_t* data, std::size_t len, std::size_t offset, T* out) {
  if (offset + sizeof(T) > len) return false;
  std::memcpy(out, data + offset, sizeof(T));
  return true;
}

}  // namespace

Result<TcpSocket> ParseInetDiag(const void* msg, std::size_t len) {
  if (len < NLMSG_HDRLEN) return Status::InvalidData("inet_diag: message shorter than its header");
  nlmsghdr hdr;
  std::memcpy(&hdr, msg, sizeof(hdr));
  if (hdr.nlmsg_len < NLMSG_HDRLEN || hdr.nlmsg_len > len) {
    return Status::InvalidData("inet_diag: message length " + std::to_string(hdr.nlmsg_len) +
                               " outside the " + std::to_string(len) + " bytes received");
  }
  if (hdr.nlmsg_type != SOCK_DIAG_BY_FAMILY) {
    return Status::InvalidData("inet_diag: unexpected message type " +
                               std::to_string(hdr.nlmsg_type));
  }
  const auto* payload = static_cast<const uint8_t*>(msg) + NLMSG_HDRLEN;
  const std::size_t payload_len = hdr.nlmsg_len - NLMSG_HDRLEN;
  if (payload_len < sizeof(inet_diag_msg)) {
    return Status::InvalidData("inet_diag: payload of " + std::to_string(payload_len) +
                               " bytes cannot hold inet_diag_msg");
  }
  inet_diag_msg m;
  std::memcpy(&m, payload, sizeof(m));
  TcpSocket s;
  s.state = m.idiag_state;
  if (m.idiag_family == AF_INET) {
    s.local = IpAddress::V4(m.id.idiag_src);
    s.remote = IpAddress::V4(m.id.idiag_dst);
  } else if (m.idiag_family == AF_INET6) {
    s.local = IpAddress::V6(m.id.idiag_src);
    s.remote = IpAddress::V6(m.id.idiag_dst);
  } else {
    return Status::InvalidData("inet_diag: unknown address family " +
                               std::to_string(m.idiag_family));
  }
  s.local_port = ntohs(m.id.idiag_sport);
  s.remote_port = ntohs(m.id.idiag_dport);
  s.bound_ifindex = m.id.idiag_if;
  s.uid = m.idiag_uid;
  s.inode = m.idiag_inode;
  s.cookie = static_cast<uint64_t>(m.id.idiag_cookie[0]) |
             (static_cast<uint64_t>(m.id.idiag_cookie[1]) << 32);

  // Attributes follow the aligned inet_diag_msg.
  std::size_t off = NLMSG_ALIGN(sizeof(inet_diag_msg));
  while (off + NLA_HDRLEN <= payload_len) {
    nlattr a;
    std::memcpy(&a, payload + off, sizeof(a));
    if (a.nla_len < NLA_HDRLEN || off + a.nla_len > payload_len) {
      return Status::InvalidData("inet_diag: attribute " + std::to_string(a.nla_type) +
                                 " overruns the message");
    }
    const uint8_t* data = payload + off + NLA_HDRLEN;
    const std::size_t data_len = a.nla_len - NLA_HDRLEN;
    switch (a.nla_type & NLA_TYPE_MASK) {
      case INET_DIAG_INFO: {
        // tcp_info grows with kernel versions; read only what this one sent.
        uint64_t v;
        if (ReadField(data, data_len, offsetof(tcp_info, tcpi_bytes_acked), &v)) {
          s.bytes_acked = v;
        }
        if (ReadField(data, data_len, offsetof(tcp_info, tcpi_bytes_received), &v)) {
          s.bytes_received = v;
        }
        break;
      }
      case INET_DIAG_MARK: {
        uint32_t mark;
        if (ReadField(data, data_len, 0, &mark)) s.mark = mark;
        break;
      }
      default: break;
    }
    off += NLA_ALIGN(a.nla_len);
  }
  return s;
}

std::vector<uint8_t> BuildPortFilter(const std::vector<uint16_t>& ports) {
  // One block per condition "sport == p" or "dport == p": GE p, LE p, then a
  // JMP to the end (accept). A failed comparison falls to the next block; the
  // last block's failure jumps past the end (reject). The kernel's audit walks
  // the `yes` chain, so every block start must lie on it: that is why the JMP
  // has yes = 4 (audit only; at run time JMP always takes `no`).
  struct Cond {
    uint8_t ge, le;
    uint16_t port;
  };
  std::vector<Cond> conds;
  for (uint16_t p : ports) {
    conds.push_back({INET_DIAG_BC_S_GE, INET_DIAG_BC_S_LE, p});
    conds.push_back({INET_DIAG_BC_D_GE, INET_DIAG_BC_D_LE, p});
  }
  if (conds.empty()) return {};
  constexpr int kCmp = 2 * sizeof(inet_diag_bc_op);  // an op and its port operand
  constexpr int kJmp = sizeof(inet_diag_bc_op);
  const int n = static_cast<int>(conds.size());
  const int total = (n - 1) * (2 * kCmp + kJmp) + 2 * kCmp;
  std::vector<inet_diag_bc_op> ops;
  ops.reserve(total / sizeof(inet_diag_bc_op));
  int at = 0;
  for (int i = 0; i < n; ++i) {
    const bool last = i == n - 1;
    const int next = at + 2 * kCmp + kJmp;  // start of the following block
    const int reject = total + 4;
    auto jump_from = [&](int from, int to) { return static_cast<uint16_t>(to - from); };
    ops.push_back({conds[i].ge, kCmp, jump_from(at, last ? reject : next)});
    ops.push_back({0, 0, conds[i].port});
    ops.push_back(
        {conds[i].le, static_cast<uint8_t>(kCmp), jump_from(at + kCmp, last ? reject : next)});
    ops.push_back({0, 0, conds[i].port});
    if (!last) {
      ops.push_back({INET_DIAG_BC_JMP, kJmp, jump_from(at + 2 * kCmp, total)});
    }
    at = next;
  }
  std::vector<uint8_t> out(ops.size() * sizeof(inet_diag_bc_op));
  std::memcpy(out.data(), ops.data(), out.size());
  return out;
}

bool RunPortFilter(const std::vector<uint8_t>& bytecode, uint16_t sport, uint16_t dport) {
  int len = static_cast<int>(bytecode.size());
  int pos = 0;
  while (len > 0) {
    inet_diag_bc_op op;
    if (pos + static_cast<int>(sizeof(op)) > static_cast<int>(bytecode.size())) return false;
    std::memcpy(&op, bytecode.data() + pos, sizeof(op));
    inet_diag_bc_op operand{};
    if (pos + 2 * static_cast<int>(sizeof(op)) <= static_cast<int>(bytecode.size())) {
      std::memcpy(&operand, bytecode.data() + pos + sizeof(op), sizeof(op));
    }
    bool yes = true;
    switch (op.code) {
      case INET_DIAG_BC_NOP: break;
      case INET_DIAG_BC_JMP: yes = false; break;
      case INET_DIAG_BC_S_GE: yes = sport >= operand.no; break;
      case INET_DIAG_BC_S_LE: yes = sport <= operand.no; break;
      case INET_DIAG_BC_D_GE: yes = dport >= operand.no; break;
      case INET_DIAG_BC_D_LE: yes = dport <= operand.no; break;
      default: return false;
    }
    const int step = yes ? op.yes : op.no;
    if (step <= 0) return false;
    len -= step;
    pos += step;
  }
  return len == 0;
}

}  // namespace ibpath
