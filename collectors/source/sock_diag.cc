#include "collectors/source/sock_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace ibpath {

namespace {

// TCP states, linux/include/net/tcp_states.h (not exported to user space).
constexpr int kTcpTimeWait = 6;
constexpr int kTcpSynRecv = 3;
constexpr int kTcpNewSynRecv = 12;
constexpr int kTcpMaxStates = 13;

}  // namespace

// ---- TcpDiag ----

Result<std::unique_ptr<TcpDiag>> TcpDiag::Open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return Status::IoError("sock_diag: cannot allocate socket");
  int err = nl_connect(sock, NETLINK_SOCK_DIAG);
  if (err < 0) {
    nl_socket_free(sock);
    return Status::IoError(std::string("sock_diag: connect: ") + nl_geterror(err));
  }
  // Dumps of tens of thousands of sockets arrive in bursts; a larger receive
  // buffer avoids ENOBUFS while we parse.
  nl_socket_set_buffer_size(sock, 4 << 20, 0);
  // Dump batches are at most 32 KiB (the kernel's skb size for netlink
  // dumps); a 64 KiB buffer holds any batch, so libnl's extra MSG_PEEK read
  // per batch to size the buffer is pure overhead.
  nl_socket_set_msg_buf_size(sock, 64 << 10);
  nl_socket_disable_msg_peek(sock);
  // No ACK after the dump's DONE: nothing would read it (see RouteNetlink::Open).
  nl_socket_disable_auto_ack(sock);
  return std::unique_ptr<TcpDiag>(new TcpDiag(sock));
}

TcpDiag::~TcpDiag() { nl_socket_free(sock_); }

namespace {

struct DumpContext {
  const std::function<void(const TcpSocket&)>* on_socket;
  TcpDiag::DumpStats stats;
};

int OnDiagMessage(nl_msg* msg, void* arg) {
  auto* ctx = static_cast<DumpContext*>(arg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  Result<TcpSocket> s = ParseInetDiag(hdr, hdr->nlmsg_len);
  if (!s.ok()) {
    ++ctx->stats.parse_errors;
    return NL_SKIP;
  }
  ++ctx->stats.sockets;
  (*ctx->on_socket)(*s);
  return NL_OK;
}

}  // namespace

Result<TcpDiag::DumpStats> TcpDiag::DumpFamily(
    int family, const std::vector<uint8_t>& port_filter,
    const std::function<void(const TcpSocket&)>& on_socket) {
  inet_diag_req_v2 req{};
  req.sdiag_family = static_cast<uint8_t>(family);
  req.sdiag_protocol = IPPROTO_TCP;
  req.idiag_ext = 1 << (INET_DIAG_INFO - 1);
  req.idiag_states = ((1u << kTcpMaxStates) - 1) &
                     ~((1u << kTcpTimeWait) | (1u << kTcpSynRecv) | (1u << kTcpNewSynRecv));

  for (int attempt = 0; attempt < 3; ++attempt) {
    nl_msg* msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP);
    if (msg == nullptr) return Status::IoError("sock_diag: cannot allocate request");
    bool built = nlmsg_append(msg, &req, sizeof(req), NLMSG_ALIGNTO) == 0 &&
                 (port_filter.empty() ||
                  nla_put(msg, INET_DIAG_REQ_BYTECODE, static_cast<int>(port_filter.size()),
                          port_filter.data()) == 0);
    if (!built) {
      nlmsg_free(msg);
      return Status::InvalidArgument("sock_diag: port filter too large for one message");
    }
    int err = nl_send_auto(sock_, msg);
    nlmsg_free(msg);
    if (err < 0) return Status::IoError(std::string("sock_diag: send: ") + nl_geterror(err));

    DumpContext ctx{&on_socket, {}};
    nl_cb* cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (cb == nullptr) return Status::IoError("sock_diag: cannot allocate callbacks");
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, OnDiagMessage, &ctx);
    err = nl_recvmsgs(sock_, cb);
    nl_cb_put(cb);
    if (err == -NLE_DUMP_INTR) continue;  // the table changed under the dump: start over
    if (err < 0) {
      return Status::IoError(std::string("sock_diag: dump of ") +
                             (family == AF_INET ? "IPv4" : "IPv6") +
                             " TCP sockets: " + nl_geterror(err));
    }
    return ctx.stats;
  }
  return Status::Unavailable("sock_diag: dump interrupted three times in a row");
}

Result<TcpDiag::DumpStats> TcpDiag::Dump(const std::vector<uint8_t>& port_filter,
                                         const std::function<void(const TcpSocket&)>& on_socket) {
  DumpStats total;
  for (int family : {AF_INET, AF_INET6}) {
    auto r = DumpFamily(family, port_filter, on_socket);
    if (!r.ok()) return r.status();
    total.sockets += r->sockets;
    total.parse_errors += r->parse_errors;
  }
  return total;
}

// ---- DestroyWatch ----

Result<std::unique_ptr<DestroyWatch>> DestroyWatch::Open() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
  if (fd < 0) return Status::FromErrno(errno, "sock_diag destroy notices: socket");
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = (1u << (SKNLGRP_INET_TCP_DESTROY - 1)) | (1u << (SKNLGRP_INET6_TCP_DESTROY - 1));
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    int e = errno;
    close(fd);
    return Status::FromErrno(e, "sock_diag destroy notices: joining the TCP destroy groups");
  }
  // Bursts of closing connections queue many notices between drains. A
  // buffer above net.core.rmem_max needs CAP_NET_ADMIN (SO_RCVBUFFORCE);
  // without it the kernel caps the size, and a burst can overflow it.
  // IBPATH_TEST_NOTICE_RCVBUF shrinks the buffer so tests can make it
  // overflow; it is not meant for production.
  int size = 8 << 20;
  if (const char* t = std::getenv("IBPATH_TEST_NOTICE_RCVBUF"); t != nullptr && std::atoi(t) > 0) {
    size = std::atoi(t);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  auto w = std::unique_ptr<DestroyWatch>(new DestroyWatch(fd));
  socklen_t len = sizeof(w->receive_buffer_);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &w->receive_buffer_, &len);
  w->buf_.resize(64 << 10);
  return w;
}

DestroyWatch::~DestroyWatch() { close(fd_); }

int DestroyWatch::fd() const { return fd_; }

Result<DestroyWatch::DrainStats> DestroyWatch::Drain(
    const std::function<void(const TcpSocket&)>& on_destroyed) {
  DrainStats stats;
  for (;;) {
    ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return stats;
      if (errno == ENOBUFS) {
        stats.overflowed = true;
        continue;
      }
      return Status::FromErrno(errno, "sock_diag destroy notices: recv");
    }
    std::size_t left = static_cast<std::size_t>(n);
    const uint8_t* p = buf_.data();
    while (left >= NLMSG_HDRLEN) {
      nlmsghdr hdr;
      std::memcpy(&hdr, p, sizeof(hdr));
      if (hdr.nlmsg_len < NLMSG_HDRLEN || hdr.nlmsg_len > left) {
        ++stats.parse_errors;
        break;
      }
      if (hdr.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
        Result<TcpSocket> s = ParseInetDiag(p, hdr.nlmsg_len);
        if (s.ok()) {
          ++stats.notices;
          on_destroyed(*s);
        } else {
          ++stats.parse_errors;
        }
      }
      const std::size_t step = NLMSG_ALIGN(hdr.nlmsg_len);
      if (step >= left) break;
      p += step;
      left -= step;
    }
  }
}

}  // namespace ibpath
