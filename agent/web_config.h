// Web configuration (--web.config.file) in the Prometheus exporter-toolkit
// schema: TLS for the endpoint and HTTP basic auth with bcrypt hashes.
//
//   tls_server_config:
//     cert_file: server.crt          # relative paths: from the file's directory
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: ca.crt
//     min_version: TLS13
//   basic_auth_users:
//     prometheus: $2y$10$...
//
// Contract: ParseWebConfig and LoadWebConfig return one human-readable line
// naming the problem (unknown key, bad hash, a file that does not load).
// WebConfigState holds the configuration in use; ReloadIfChanged() replaces it
// only with one that loads completely, otherwise the last good one stays and
// the failure is logged and exported. Whether TLS is on is fixed at start (the
// listening port is a TLS port or not); certificates, keys, client CAs,
// client_auth_type, TLS versions and users follow the file.
// Thread-safety: WebConfigState's methods are safe from any thread; the TLS
// callbacks run on CivetWeb's threads during handshakes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "collectors/collector.h"
#include "collectors/source/file_id.h"
#include "collectors/source/status.h"

namespace ibpath {

enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

enum class TlsVersion { kTls12, kTls13 };

struct WebConfig {
  struct Tls {
    std::string cert_file;  // absolute, or relative to the working directory
    std::string key_file;
    std::string client_ca_file;  // empty: none
    ClientAuth client_auth = ClientAuth::kNoClientCert;
    TlsVersion min_version = TlsVersion::kTls12;
    TlsVersion max_version = TlsVersion::kTls13;
  };
  std::optional<Tls> tls;
  std::map<std::string, std::string> users;  // user name -> bcrypt hash
};

// Parses and validates the YAML text; relative file names are joined with
// `dir`. Reads no files.
Result<WebConfig> ParseWebConfig(const std::string& yaml, const std::string& dir);

// A bcrypt hash as libxcrypt and htpasswd -B write it: $2a$, $2b$ or $2y$,
// a two-digit cost from 04 to 31, 53 characters of salt and hash.
bool IsBcryptHash(const std::string& hash);
// crypt(3) of `password` with the hash as setting, compared in constant time.
bool CheckBcryptPassword(const std::string& password, const std::string& hash);

// The credentials of an "Authorization: Basic ..." header value; nullopt
// when it is not one.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> ParseBasicAuthorization(const char* header);

// A parsed configuration with its TLS material loaded (OpenSSL objects).
struct LoadedWebConfig;

// Reads the file, parses it and loads the certificate, key and client CAs.
Result<std::shared_ptr<const LoadedWebConfig>> LoadWebConfig(const std::string& path);

// CivetWeb loads OpenSSL at run time by the names "libssl.so" and
// "libcrypto.so" (Debian: only in libssl-dev), and Debian 12's CivetWeb 1.15
// asks libssl for SSL_get_peer_certificate, which OpenSSL 3 does not export
// (civetweb/civetweb#1334). This loads two stand-ins embedded in the agent,
// with those SONAMEs, over libssl.so.3 and libcrypto.so.3 (libssl3), so that
// CivetWeb's dlopen finds them. Call before the server starts; idempotent.
Status PrepareTlsRuntime();

class WebConfigState : public Collector {
 public:
  // `path` empty: no web configuration (plain HTTP, no authentication).
  // Otherwise loads it now; the error is the line to show at start.
  static Result<std::unique_ptr<WebConfigState>> Create(const std::string& path);
  ~WebConfigState() override;

  bool tls_enabled() const { return tls_enabled_; }

  // Re-reads the file when it or a file it names changed identity, size or
  // modification time since the last attempt. Returns true when it tried.
  bool ReloadIfChanged();
  // Re-reads now; the status says why the new version was not taken.
  Status Reload();

  enum class AuthResult { kAllowed, kDenied };
  // For an Authorization header value (nullptr: none). Always allowed when
  // the configuration has no basic_auth_users.
  AuthResult Authorize(const char* authorization);
  // Denied requests, for the metric.
  void CountUnauthorized();

  // CivetWeb's init_ssl callback: configures its SSL_CTX so that every
  // handshake uses the configuration current at that moment. Returns 1 (set
  // up) or -1.
  int InitSsl(void* ssl_ctx);

  Status Collect(MetricSink& out) override;

  // For tests: how many bcrypt computations ran (cache misses).
  uint64_t bcrypt_runs() const;

 private:
  explicit WebConfigState(std::string path) : path_(std::move(path)) {}
  // The configuration file and the files `config` names.
  std::vector<FileId> Identify(const LoadedWebConfig* config) const;
  std::shared_ptr<const LoadedWebConfig> Current() const;
  static int ClientHello(void* ssl, int* alert, void* arg);

  const std::string path_;
  bool tls_enabled_ = false;

  mutable std::mutex mu_;
  std::shared_ptr<const LoadedWebConfig> current_;
  std::vector<FileId> last_attempt_;
  bool last_success_ = false;
  uint64_t reloads_ = 0;
  uint64_t failures_ = 0;
  uint64_t unauthorized_ = 0;
  uint64_t bcrypt_runs_ = 0;
  // Successful checks: SHA-256 of (user, password, stored hash) -> expiry.
  // A changed hash or a removed user never matches an old entry.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> ok_cache_;
};

}  // namespace ibpath
