// TCP sockets through the kernel's sock_diag / inet_diag netlink interface
// (the one `ss` uses), and the kernel's notifications of destroyed sockets.
//
// Contract: ParseInetDiag is a pure function over one netlink message, safe
// on any bytes (it is fuzzed). TcpDiag dumps IPv4 and IPv6 TCP sockets of the
// namespace it was opened in, filtered in the kernel by port.
// Thread-safety: one TcpDiag / DestroyWatch per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "collectors/source/ip_address.h"
#include "collectors/source/status.h"

struct nl_sock;

namespace ibpath {

struct TcpSocket {
  uint8_t state = 0;  // TCP_ESTABLISHED, TCP_LISTEN, ... (linux/tcp.h numbering)
  IpAddress local;
  IpAddress remote;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint32_t bound_ifindex = 0;  // SO_BINDTODEVICE, 0 if unbound
  uint32_t uid = 0;
  uint64_t inode = 0;
  uint64_t cookie = 0;           // the kernel's unique socket id
  std::optional<uint32_t> mark;  // reported only to CAP_NET_ADMIN
  // tcp_info counters; absent on kernels older than 4.1 or for sockets
  // without tcp_info (a destroy notice of a socket that never connected).
  std::optional<uint64_t> bytes_acked;
  std::optional<uint64_t> bytes_received;
};

constexpr uint8_t kTcpListen = 10;  // TCP_LISTEN in the kernel's numbering

// Parses one SOCK_DIAG_BY_FAMILY message (header included, `len` bytes).
Result<TcpSocket> ParseInetDiag(const void* msg, std::size_t len);

// Builds inet_diag bytecode that accepts a socket whose source or
// destination port is in `ports`. Uses only the >= / <= comparisons every
// kernel since 2.6 knows. Empty `ports` gives an empty program (accept all).
std::vector<uint8_t> BuildPortFilter(const std::vector<uint16_t>& ports);

// Runs bytecode the way the kernel's inet_diag_bc_run does; used to test
// BuildPortFilter without a kernel.
bool RunPortFilter(const std::vector<uint8_t>& bytecode, uint16_t sport, uint16_t dport);

class TcpDiag {
 public:
  static Result<std::unique_ptr<TcpDiag>> Open();
  ~TcpDiag();
  TcpDiag(const TcpDiag&) = delete;
  TcpDiag& operator=(const TcpDiag&) = delete;

  struct DumpStats {
    uint64_t sockets = 0;       // parsed and handed to the callback
    uint64_t parse_errors = 0;  // messages skipped as malformed
  };
  // Dumps TCP sockets of both families in every state but TIME_WAIT and
  // SYN_RECV (which carry no byte counters), matching `port_filter` (from
  // BuildPortFilter). A dump the kernel reports as interrupted is retried.
  Result<DumpStats> Dump(const std::vector<uint8_t>& port_filter,
                         const std::function<void(const TcpSocket&)>& on_socket);

 private:
  explicit TcpDiag(nl_sock* sock) : sock_(sock) {}
  Result<DumpStats> DumpFamily(int family, const std::vector<uint8_t>& port_filter,
                               const std::function<void(const TcpSocket&)>& on_socket);
  nl_sock* sock_;
};

// Listens for the kernel's "TCP socket destroyed" multicast notices, which
// carry the socket's final tcp_info: the only way to count bytes of a
// connection that opened and closed between two samples. Joining the group
// needs no capability on current kernels; CAP_NET_ADMIN buys the large
// receive buffer (see Open()).
class DestroyWatch {
 public:
  static Result<std::unique_ptr<DestroyWatch>> Open();
  ~DestroyWatch();
  DestroyWatch(const DestroyWatch&) = delete;
  DestroyWatch& operator=(const DestroyWatch&) = delete;

  int fd() const;
  // The socket's receive buffer as the kernel granted it, in bytes.
  int receive_buffer() const { return receive_buffer_; }
  struct DrainStats {
    uint64_t notices = 0;
    uint64_t parse_errors = 0;
    bool overflowed = false;  // the kernel dropped notices (ENOBUFS)
  };
  // Reads every notice queued now without blocking.
  Result<DrainStats> Drain(const std::function<void(const TcpSocket&)>& on_destroyed);

 private:
  explicit DestroyWatch(int fd) : fd_(fd) {}
  int receive_buffer_ = 0;
  int fd_;
  std::vector<uint8_t> buf_;
};

}  // namespace ibpath
