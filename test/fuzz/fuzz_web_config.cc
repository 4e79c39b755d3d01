// --web.config.file: ParseWebConfig (YAML through yaml-cpp), IsBcryptHash and
// ParseBasicAuthorization on any bytes. Input: YAML text, or, after a NUL,
// an Authorization header value.
// Invariants: a parsed configuration has only bcrypt hashes and user names
// that are non-empty and free of ':'; TLS, when on, names a certificate and
// a key, both made absolute from the configuration's directory; parsing is
// deterministic; an error is one line; credentials decoded from a header
// encode back to a header that decodes to the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/web_config.h"
#include "test/fuzz/fuzz_check.h"

namespace {

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  fuzz::Bytes in(data, size);
  const std::string yaml(in.Field('\0'));
  const std::string header(in.Rest());

  Result<WebConfig> config = ParseWebConfig(yaml, "/etc/ibpath");
  Result<WebConfig> again = ParseWebConfig(yaml, "/etc/ibpath");
  FUZZ_CHECK(config.ok() == again.ok());
  if (config.ok()) {
    for (const auto& [user, hash] : config->users) {
      FUZZ_CHECK(!user.empty() && user.find(':') == std::string::npos);
      FUZZ_CHECK(IsBcryptHash(hash));
    }
    FUZZ_CHECK(again->users == config->users);
    if (config->tls) {
      FUZZ_CHECK(!config->tls->cert_file.empty() && !config->tls->key_file.empty());
      FUZZ_CHECK(config->tls->cert_file.front() == '/' && config->tls->key_file.front() == '/');
      if (!config->tls->client_ca_file.empty()) {
        FUZZ_CHECK(config->tls->client_ca_file.front() == '/');
      }
    }
  } else {
    FUZZ_CHECK(!config.status().message().empty());
    FUZZ_CHECK(config.status().message() == again.status().message());
  }

  if (IsBcryptHash(yaml)) {
    FUZZ_CHECK(yaml.size() == 60 && yaml.starts_with("$2"));
  }

  if (header.find('\0') == std::string::npos) {
    if (auto creds = ParseBasicAuthorization(header.c_str())) {
      const std::string encoded = "Basic " + Base64(creds->user + ":" + creds->password);
      auto back = ParseBasicAuthorization(encoded.c_str());
      FUZZ_CHECK(back && back->user == creds->user && back->password == creds->password);
      FUZZ_CHECK(creds->user.find(':') == std::string::npos);
    }
  }
  return 0;
}
