// The probe's request side (alluxio_http.h) and its failure classification
// (http_fetch.h ClassifyFetch). Input: offset, length, then worker NUL path.
// Invariants: a built URL is http://<host>:<port>/v1/range/<sha256 of the
// path>?ufsFullPath=<encoded path>&offset=..&length=.., the authority being
// exactly the worker's host (nothing in it that would move the request to
// another host, path or query) and a valid port; the encoded path holds no
// byte that would break the query and decodes back to the path; a failure
// word is one of the documented ones.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "collectors/source/alluxio_http.h"
#include "collectors/source/http_fetch.h"
#include "test/fuzz/fuzz_check.h"

namespace {

bool IsHexLower(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Decode(const std::string& s) {
  auto hex = [](char c) { return c <= '9' ? c - '0' : c - 'A' + 10; };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  fuzz::Bytes in(data, size);
  const uint64_t offset = in.Take<uint64_t>();
  const uint64_t length = in.Take<uint64_t>();
  const std::string worker(in.Field('\0'));
  const std::string path(in.Rest());

  const std::string id = Sha256Hex(path);
  FUZZ_CHECK(id.size() == 64 && IsHexLower(id));
  const std::string enc = EncodeQueryValue(path);
  for (unsigned char c : enc) {
    FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '&' && c != '=' && c != '?' && c != '#' && c != '+');
  }
  FUZZ_CHECK(Decode(enc) == path);

  Result<std::string> url = AlluxioRangeUrl(worker, path, offset, length);
  if (url.ok()) {
    FUZZ_CHECK(url->starts_with("http://"));
    const std::string rest = url->substr(7);
    const std::size_t slash = rest.find('/');
    FUZZ_CHECK(slash != std::string::npos);
    const std::string authority = rest.substr(0, slash);
    // The authority is host:port, the host taken from the worker as given.
    const std::size_t colon = authority.rfind(':');
    FUZZ_CHECK(colon != std::string::npos && colon > 0);
    const std::string host = authority.substr(0, colon);
    FUZZ_CHECK(worker.starts_with(host));
    for (unsigned char c : host) {
      FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '/' && c != '?' && c != '#' && c != '@' && c != '\\');
    }
    const std::string port = authority.substr(colon + 1);
    FUZZ_CHECK(!port.empty() && port.size() <= 5 && std::stoul(port) >= 1 &&
               std::stoul(port) <= 65535);
    const std::string want_tail = "/v1/range/" + id + "?ufsFullPath=" + enc +
                                  "&offset=" + std::to_string(offset) +
                                  "&length=" + std::to_string(length);
    FUZZ_CHECK(rest.substr(slash) == want_tail);
  } else {
    FUZZ_CHECK(!url.status().message().empty());
    FUZZ_CHECK(worker.empty() || path.empty() ||
               url.status().message().find(worker) != std::string::npos);
  }

  // Failure classification over whatever the bytes say.
  fuzz::Bytes f(data, size);
  const int curl_code = f.Take<int>();
  const long status = f.Take<long>();
  const uint64_t body = f.Take<uint64_t>();
  const uint8_t flags = f.Take<uint8_t>();
  const std::optional<uint64_t> content_length =
      (flags & 1) ? std::optional<uint64_t>(f.Take<uint64_t>()) : std::nullopt;
  const std::string_view word =
      ClassifyFetch(curl_code, status, body, content_length, flags & 2, flags & 4);
  static const std::set<std::string_view> kWords = {
      "",        "dns",     "connect",    "timeout",     "tls",         "bind",      "redirect",
      "bad_url", "network", "short_read", "empty_reply", "http_status", "cancelled", "error"};
  FUZZ_CHECK(kWords.contains(word));
  if (flags & 4) FUZZ_CHECK(word == "cancelled");
  if (word.empty()) FUZZ_CHECK(status >= 200 && status <= 299);
  return 0;
}
