// IpAddress: an IPv4 or IPv6 address as the kernel reports it, with
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack Java socket
// shows for an IPv4 peer) folded to plain IPv4 so that route lookups and
// address ownership treat both spellings alike.
// Thread-safety: a plain value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ibpath {

struct IpAddress {
  int family = 0;                   // AF_INET or AF_INET6; 0 = unset
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes

  static IpAddress V4(const void* four_bytes);
  // Folds IPv4-mapped addresses to V4.
  static IpAddress V6(const void* sixteen_bytes);
  static std::optional<IpAddress> Parse(std::string_view text);

  std::size_t size() const { return family == 0 ? 0 : (family == 2 ? 4 : 16); }
  bool IsUnspecified() const;  // 0.0.0.0 or ::
  bool IsLoopback() const;
  bool IsLinkLocal() const;  // fe80::/10
  std::string ToString() const;
  bool operator==(const IpAddress& o) const { return family == o.family && bytes == o.bytes; }
  bool operator<(const IpAddress& o) const {
    return family != o.family ? family < o.family : bytes < o.bytes;
  }
};

struct IpAddressHash {
  std::size_t operator()(const IpAddress& a) const;
};

}  // namespace ibpath
