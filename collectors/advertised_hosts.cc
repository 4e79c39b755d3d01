#include "collectors/advertised_hosts.h"

#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>

namespace ibpath {

Result<std::vector<IpAddress>> ResolveHost(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    return Status::NotFound("resolving " + host + ": " + gai_strerror(rc));
  }
  std::vector<IpAddress> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    IpAddress a;
    if (ai->ai_family == AF_INET) {
      a = IpAddress::V4(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr);
    } else if (ai->ai_family == AF_INET6) {
      a = IpAddress::V6(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  freeaddrinfo(res);
  return out;
}

void AdvertisedHosts::Refresh(const std::vector<std::pair<std::string, std::string>>& hosts) {
  std::vector<ResolvedHost> results;
  for (const auto& [property, host] : hosts) {
    ResolvedHost r{property, host, {}, {}};
    auto addrs = ResolveHost(host);
    if (addrs.ok()) {
      r.addresses = std::move(*addrs);
    } else {
      r.error = addrs.status().message();
      spdlog::warn("{}={}: {}", property, host, r.error);
    }
    results.push_back(std::move(r));
  }
  std::lock_guard<std::mutex> lock(mu_);
  results_ = std::move(results);
}

std::vector<ResolvedHost> AdvertisedHosts::Results() const {
  std::lock_guard<std::mutex> lock(mu_);
  return results_;
}

}  // namespace ibpath
