// HttpFetch: one HTTP(S) GET through libcurl that reads at most N bytes of
// the body, discards them, and reports how long each phase took and which
// TCP socket carried the body (addresses, bound device, mark, tcp_info byte
// counts), so the caller can ask the kernel which device that socket uses.
//
// Contract: Fetch never throws and always returns a FetchResult; `reason` is
// empty on success, else a short label-safe word (see ClassifyFetch). After
// redirects the socket reported is the one that delivered the final body,
// not the first connection. Only http and https are allowed, redirects
// included. The body socket's counters are read just before the socket is
// closed (or after the transfer if libcurl keeps it open), so they cover the
// whole body.
// Thread-safety: Fetch may run on several threads at once (each call has
// its own curl handle); libcurl's global init is done once, thread-safely.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "collectors/source/ip_address.h"

namespace ibpath {

struct FetchRequest {
  std::string url;
  uint64_t max_bytes = 64ull << 20;          // stop reading after this many body bytes
  bool range_header = true;                  // ask for bytes=0-(max_bytes-1)
  std::chrono::milliseconds timeout{30000};  // whole transfer, connect included
  // Bind the socket to this local address before connecting (what Alluxio's
  // client does for alluxio.user.network.data.bind.device): the kernel's
  // routing still picks the egress device. Empty: no bind.
  std::string bind_address;
  // Pin the socket to this device with SO_BINDTODEVICE (diagnostics only: a
  // pinned socket ignores the routing fault a probe exists to catch).
  std::string pin_device;
  long max_redirects = 5;
  // Checked during the transfer; when it becomes true the fetch is aborted
  // with reason "cancelled".
  const std::atomic<bool>* cancel = nullptr;
};

// The socket that carried the body, read from the kernel.
struct BodySocket {
  bool known = false;
  IpAddress local, peer;
  uint16_t local_port = 0, peer_port = 0;
  uint32_t bound_ifindex = 0;                  // SO_BINDTODEVICE, 0 when not pinned
  uint32_t mark = 0;                           // SO_MARK
  std::optional<uint64_t> tcp_bytes_received;  // tcp_info, headers included
  std::optional<uint64_t> tcp_bytes_acked;
};

struct FetchResult {
  std::string reason;  // "" on success
  std::string error;   // human-readable detail for logs ("" on success)
  int curl_code = 0;
  long http_status = 0;  // of the final response; 0 if none arrived
  uint64_t body_bytes = 0;
  bool stopped_at_limit = false;           // we ended the transfer after max_bytes
  std::optional<uint64_t> content_length;  // of the final response, if given
  long redirects = 0;
  // Phases of the final request, in seconds: connect (DNS included) until the
  // connection was ready, first_byte until the first response byte, transfer
  // until the last body byte. Redirected requests count in connect.
  double connect_seconds = 0, first_byte_seconds = 0, transfer_seconds = 0;
  double total_seconds = 0;
  BodySocket socket;
};

FetchResult Fetch(const FetchRequest& request);

// The failure word for a finished transfer, "" for success:
//   dns, connect, timeout, tls, bind, redirect, bad_url, network, short_read,
//   empty_reply, http_status, cancelled, error (anything else).
// A transfer we stopped ourselves at the byte limit is a success; an HTTP
// status outside 2xx is http_status even when the body arrived whole.
std::string_view ClassifyFetch(int curl_code, long http_status, uint64_t body_bytes,
                               std::optional<uint64_t> content_length, bool stopped_at_limit,
                               bool cancelled);

}  // namespace ibpath
