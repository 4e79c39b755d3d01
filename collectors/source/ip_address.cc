#include "collectors/source/ip_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

namespace ibpath {

static_assert(AF_INET == 2, "IpAddress::size() assumes AF_INET == 2");

IpAddress IpAddress::V4(const void* four_bytes) {
  IpAddress a;
  a.family = AF_INET;
  std::memcpy(a.bytes.data(), four_bytes, 4);
  return a;
}

IpAddress IpAddress::V6(const void* sixteen_bytes) {
  const auto* b = static_cast<const uint8_t*>(sixteen_bytes);
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b, kMappedPrefix, sizeof(kMappedPrefix)) == 0) return V4(b + 12);
  IpAddress a;
  a.family = AF_INET6;
  std::memcpy(a.bytes.data(), b, 16);
  return a;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton stops at a NUL: "10.0.0.1\0junk" must not parse as 10.0.0.1.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::string s(text);
  uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return V4(buf);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return V6(buf);
  return std::nullopt;
}

bool IpAddress::IsUnspecified() const {
  for (std::size_t i = 0; i < size(); ++i) {
    if (bytes[i] != 0) return false;
  }
  return family != 0;
}

bool IpAddress::IsLoopback() const {
  if (family == AF_INET) return bytes[0] == 127;
  if (family == AF_INET6) {
    for (int i = 0; i < 15; ++i) {
      if (bytes[i] != 0) return false;
    }
    return bytes[15] == 1;
  }
  return false;
}

bool IpAddress::IsLinkLocal() const {
  return family == AF_INET6 && bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;
}

std::string IpAddress::ToString() const {
  if (family == 0) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, bytes.data(), buf, sizeof(buf)) == nullptr) return "";
  return buf;
}

std::size_t IpAddressHash::operator()(const IpAddress& a) const {
  // FNV-1a over the used bytes: cheap and good enough for a per-sample cache.
  std::size_t h = 1469598103934665603ull ^ static_cast<std::size_t>(a.family);
  for (std::size_t i = 0; i < a.size(); ++i) {
    h ^= a.bytes[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace ibpath
