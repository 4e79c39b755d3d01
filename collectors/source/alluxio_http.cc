#include "collectors/source/alluxio_http.h"

#include <openssl/evp.h>

#include <charconv>

namespace ibpath {

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // EVP_Digest is one-shot and allocates its own context; it only fails on
  // allocation failure, which leaves `len` 0 and yields "".
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string EncodeQueryValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == ':';
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

Result<std::string> AlluxioRangeUrl(std::string_view worker, std::string_view ufs_full_path,
                                    uint64_t offset, uint64_t length) {
  if (worker.empty()) return Status::InvalidArgument("no worker host given");
  if (ufs_full_path.empty()) return Status::InvalidArgument("no UFS path given");
  std::string_view host = worker;
  std::string_view port;
  if (worker.front() == '[') {
    const auto close = worker.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("worker '" + std::string(worker) + "' has no closing ]");
    }
    host = worker.substr(0, close + 1);
    std::string_view rest = worker.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Status::InvalidArgument("worker '" + std::string(worker) + "' is malformed");
      }
      port = rest.substr(1);
    }
  } else if (const auto colon = worker.find(':'); colon != std::string_view::npos) {
    host = worker.substr(0, colon);
    port = worker.substr(colon + 1);
  }
  unsigned port_number = kAlluxioWorkerHttpPort;
  if (!port.empty() || worker.back() == ':') {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
    if (ec != std::errc() || end != port.data() + port.size() || port_number == 0 ||
        port_number > 65535) {
      return Status::InvalidArgument("worker '" + std::string(worker) + "' has a bad port");
    }
  }
  if (host.empty() || host == "[]") {
    return Status::InvalidArgument("worker '" + std::string(worker) + "' has no host");
  }
  // Nothing that would end the authority or add user info: the request must
  // go to this host, to /v1/range/.
  for (unsigned char c : host) {
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\') {
      return Status::InvalidArgument("worker '" + std::string(worker) + "' has a bad host");
    }
  }
  return "http://" + std::string(host) + ":" + std::to_string(port_number) + "/v1/range/" +
         AlluxioPathId(ufs_full_path) + "?ufsFullPath=" + EncodeQueryValue(ufs_full_path) +
         "&offset=" + std::to_string(offset) + "&length=" + std::to_string(length);
}

}  // namespace ibpath
