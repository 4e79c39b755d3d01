#include "agent/web_config.h"

#include <crypt.h>
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

// agent/tls_shim/, embedded by CMake.
extern const unsigned char kIbpathLibsslShim[];
extern const std::size_t kIbpathLibsslShim_size;
extern const unsigned char kIbpathLibcryptoShim[];
extern const std::size_t kIbpathLibcryptoShim_size;

namespace ibpath {

struct LoadedWebConfig {
  WebConfig config;
  // TLS material, all null without tls_server_config.
  X509* cert = nullptr;
  STACK_OF(X509) * chain = nullptr;  // intermediates after the leaf
  EVP_PKEY* key = nullptr;
  X509_STORE* client_cas = nullptr;

  LoadedWebConfig() = default;
  LoadedWebConfig(const LoadedWebConfig&) = delete;
  LoadedWebConfig& operator=(const LoadedWebConfig&) = delete;
  ~LoadedWebConfig() {
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    X509_STORE_free(client_cas);
  }
};

namespace {

#ifdef MFD_EXEC
constexpr unsigned kMfdExec = MFD_EXEC;
#else
constexpr unsigned kMfdExec = 0x10;  // Linux 6.3: silences the kernel's memfd warning
#endif

constexpr auto kAuthCacheTtl = std::chrono::minutes(5);
constexpr std::size_t kAuthCacheMax = 256;

std::string LineOf(const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return m.line >= 0 ? "line " + std::to_string(m.line + 1) + ": " : "";
}

Result<std::string> ScalarString(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) return Status::InvalidArgument(LineOf(node) + what + " must be a string");
  return node.Scalar();
}

// Map entries in file order; duplicate keys are an error (a user listed
// twice would be ambiguous).
Result<std::vector<std::pair<std::string, YAML::Node>>> MapEntries(const YAML::Node& node,
                                                                   const std::string& what) {
  if (!node.IsMap()) return Status::InvalidArgument(LineOf(node) + what + " must be a mapping");
  std::vector<std::pair<std::string, YAML::Node>> out;
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      return Status::InvalidArgument(LineOf(it->first) + what + " has a key that is not a string");
    }
    const std::string key = it->first.Scalar();
    if (!seen.insert(key).second) {
      return Status::InvalidArgument(LineOf(it->first) + what + " has \"" + key + "\" twice");
    }
    out.emplace_back(key, it->second);
  }
  return out;
}

std::string JoinDir(const std::string& dir, const std::string& file) {
  if (file.empty() || file.front() == '/' || dir.empty()) return file;
  return dir.back() == '/' ? dir + file : dir + "/" + file;
}

Result<TlsVersion> ParseTlsVersion(const std::string& v, const std::string& key) {
  if (v == "TLS12") return TlsVersion::kTls12;
  if (v == "TLS13") return TlsVersion::kTls13;
  if (v == "TLS10" || v == "TLS11") {
    return Status::InvalidArgument(key + ": " + v + " is not supported, use TLS12 or TLS13");
  }
  return Status::InvalidArgument(key + ": unknown TLS version \"" + v + "\" (TLS12 or TLS13)");
}

// Keys exporter-toolkit knows that this agent does not implement: refused by
// name rather than silently ignored.
bool IsUnsupportedToolkitKey(const std::string& section, const std::string& key) {
  static const std::set<std::string> kTls = {"cert",
                                             "key",
                                             "client_ca",
                                             "client_allowed_sans",
                                             "cipher_suites",
                                             "curve_preferences",
                                             "prefer_server_cipher_suites"};
  if (section == "tls_server_config") return kTls.count(key) > 0;
  return section.empty() && (key == "http_server_config" || key == "rate_limit");
}

Result<WebConfig::Tls> ParseTls(const YAML::Node& node, const std::string& dir) {
  auto entries = MapEntries(node, "tls_server_config");
  if (!entries.ok()) return entries.status();
  WebConfig::Tls tls;
  std::string client_auth = "NoClientCert";
  for (const auto& [key, value] : *entries) {
    const std::string name = "tls_server_config." + key;
    if (IsUnsupportedToolkitKey("tls_server_config", key)) {
      return Status::InvalidArgument(LineOf(value) + name + " is not supported by ibpath-agent");
    }
    auto s = ScalarString(value, name);
    if (!s.ok()) return s.status();
    if (key == "cert_file") {
      tls.cert_file = JoinDir(dir, *s);
    } else if (key == "key_file") {
      tls.key_file = JoinDir(dir, *s);
    } else if (key == "client_ca_file") {
      tls.client_ca_file = JoinDir(dir, *s);
    } else if (key == "client_auth_type") {
      client_auth = *s;
    } else if (key == "min_version" || key == "max_version") {
      auto v = ParseTlsVersion(*s, name);
      if (!v.ok()) return Status::InvalidArgument(LineOf(value) + v.status().message());
      (key == "min_version" ? tls.min_version : tls.max_version) = *v;
    } else {
      return Status::InvalidArgument(LineOf(value) + "unknown key " + name);
    }
  }
  static const std::map<std::string, ClientAuth> kAuth = {
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"RequireClientCert", ClientAuth::kRequireAnyClientCert},  // exporter-toolkit's old name
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  auto auth = kAuth.find(client_auth);
  if (auth == kAuth.end()) {
    return Status::InvalidArgument(
        "tls_server_config.client_auth_type: unknown value \"" + client_auth +
        "\" (NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
        "RequireAndVerifyClientCert)");
  }
  tls.client_auth = auth->second;
  if (tls.cert_file.empty()) return Status::InvalidArgument("tls_server_config: missing cert_file");
  if (tls.key_file.empty()) return Status::InvalidArgument("tls_server_config: missing key_file");
  const bool verifies = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                        tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && tls.client_ca_file.empty()) {
    return Status::InvalidArgument("tls_server_config: client_auth_type " + client_auth +
                                   " needs client_ca_file");
  }
  if (!tls.client_ca_file.empty() && tls.client_auth == ClientAuth::kNoClientCert) {
    return Status::InvalidArgument(
        "tls_server_config: client_ca_file is set but client_auth_type is NoClientCert");
  }
  if (tls.max_version < tls.min_version) {
    return Status::InvalidArgument("tls_server_config: max_version is below min_version");
  }
  return tls;
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  std::string out;
  while (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out = buf;  // the last one is usually the most specific
    e = ERR_get_error();
  }
  return out.empty() ? "no details" : out;
}

struct BioCloser {
  void operator()(BIO* b) const { BIO_free(b); }
};

Result<std::unique_ptr<BIO, BioCloser>> OpenFile(const std::string& path, const std::string& what) {
  std::unique_ptr<BIO, BioCloser> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    const int err = errno;
    ERR_clear_error();
    return Status::NotFound(what + " " + path + ": " +
                            (err != 0 ? std::strerror(err) : "cannot be opened"));
  }
  return bio;
}

// Every certificate in a PEM file, in order.
Result<std::vector<X509*>> ReadCertificates(const std::string& path, const std::string& what) {
  auto bio = OpenFile(path, what);
  if (!bio.ok()) return bio.status();
  std::vector<X509*> certs;
  while (X509* x = PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr)) certs.push_back(x);
  // The loop ends with "no start line" at the end of the file; anything else
  // is a broken certificate.
  const unsigned long e = ERR_peek_last_error();
  if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
    for (X509* x : certs) X509_free(x);
    return Status::InvalidData(what + " " + path + ": " + OpenSslError());
  }
  ERR_clear_error();
  if (certs.empty()) {
    return Status::InvalidData(what + " " + path + ": no PEM certificate in it");
  }
  return certs;
}

Status LoadTls(LoadedWebConfig& out) {
  const WebConfig::Tls& tls = *out.config.tls;
  ERR_clear_error();
  auto certs = ReadCertificates(tls.cert_file, "tls_server_config.cert_file");
  if (!certs.ok()) return certs.status();
  out.cert = (*certs)[0];
  out.chain = sk_X509_new_null();
  for (std::size_t i = 1; i < certs->size(); ++i) sk_X509_push(out.chain, (*certs)[i]);

  auto key_bio = OpenFile(tls.key_file, "tls_server_config.key_file");
  if (!key_bio.ok()) return key_bio.status();
  out.key = PEM_read_bio_PrivateKey(key_bio->get(), nullptr, nullptr, nullptr);
  if (out.key == nullptr) {
    return Status::InvalidData("tls_server_config.key_file " + tls.key_file +
                               ": no PEM private key (" + OpenSslError() + ")");
  }
  if (X509_check_private_key(out.cert, out.key) != 1) {
    ERR_clear_error();
    return Status::InvalidData("tls_server_config.key_file " + tls.key_file +
                               " does not match the certificate in " + tls.cert_file);
  }
  if (!tls.client_ca_file.empty()) {
    auto cas = ReadCertificates(tls.client_ca_file, "tls_server_config.client_ca_file");
    if (!cas.ok()) return cas.status();
    out.client_cas = X509_STORE_new();
    for (X509* ca : *cas) {
      X509_STORE_add_cert(out.client_cas, ca);
      X509_free(ca);
    }
    ERR_clear_error();
  }
  return Status::Ok();
}

int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

Result<WebConfig> ParseWebConfig(const std::string& yaml, const std::string& dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("not valid YAML: line " + std::to_string(e.mark.line + 1) +
                                   ": " + e.msg);
  }
  WebConfig config;
  if (root.IsNull()) return config;  // an empty file: plain HTTP, no users
  try {
    auto entries = MapEntries(root, "the web configuration");
    if (!entries.ok()) return entries.status();
    for (const auto& [key, value] : *entries) {
      if (key == "tls_server_config") {
        if (value.IsNull()) continue;
        auto tls = ParseTls(value, dir);
        if (!tls.ok()) return tls.status();
        config.tls = *tls;
      } else if (key == "basic_auth_users") {
        if (value.IsNull()) continue;
        auto users = MapEntries(value, "basic_auth_users");
        if (!users.ok()) return users.status();
        for (const auto& [user, hash_node] : *users) {
          auto hash = ScalarString(hash_node, "basic_auth_users." + user);
          if (!hash.ok()) return hash.status();
          if (user.empty() || user.find(':') != std::string::npos) {
            return Status::InvalidArgument(LineOf(hash_node) + "basic_auth_users: user name \"" +
                                           user + "\" is empty or has a ':'");
          }
          if (!IsBcryptHash(*hash)) {
            return Status::InvalidArgument(
                LineOf(hash_node) + "basic_auth_users." + user +
                " is not a bcrypt hash ($2a$, $2b$ or $2y$, e.g. from htpasswd -nBC 10 \"\")");
          }
          config.users[user] = *hash;
        }
      } else if (IsUnsupportedToolkitKey("", key)) {
        return Status::InvalidArgument(LineOf(value) + key + " is not supported by ibpath-agent");
      } else {
        return Status::InvalidArgument(LineOf(value) + "unknown key " + key);
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("bad web configuration: ") + e.what());
  }
  return config;
}

bool IsBcryptHash(const std::string& hash) {
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (std::size_t i = 7; i < hash.size(); ++i) {
    const char c = hash[i];
    const bool ok = c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool CheckBcryptPassword(const std::string& password, const std::string& hash) {
  if (!IsBcryptHash(hash) || password.find('\0') != std::string::npos) return false;
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on a worker's stack
  const char* out = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (out == nullptr) return false;
  const std::size_t n = std::strlen(out);
  return n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
}

std::optional<BasicCredentials> ParseBasicAuthorization(const char* header) {
  if (header == nullptr) return std::nullopt;
  std::string h(header);
  if (h.size() < 6 || strncasecmp(h.c_str(), "Basic ", 6) != 0) return std::nullopt;
  std::size_t start = 6;
  while (start < h.size() && h[start] == ' ') ++start;
  std::size_t end = h.size();
  while (end > start && h[end - 1] == ' ') --end;
  const std::string in = h.substr(start, end - start);
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string decoded;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[j] = value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const uint32_t bits = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    decoded += static_cast<char>((bits >> 16) & 0xff);
    if (pad < 2) decoded += static_cast<char>((bits >> 8) & 0xff);
    if (pad < 1) decoded += static_cast<char>(bits & 0xff);
  }
  const std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

Result<std::shared_ptr<const LoadedWebConfig>> LoadWebConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::FromErrno(errno, "web configuration " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IoError("web configuration " + path + ": read error");
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? ""
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  auto parsed = ParseWebConfig(text.str(), dir);
  if (!parsed.ok()) return parsed.status().WithContext("web configuration " + path);
  auto loaded = std::make_shared<LoadedWebConfig>();
  loaded->config = std::move(*parsed);
  if (loaded->config.tls) {
    Status s = LoadTls(*loaded);
    if (!s.ok()) return s.WithContext("web configuration " + path);
  }
  return std::shared_ptr<const LoadedWebConfig>(std::move(loaded));
}

Status PrepareTlsRuntime() {
  static std::mutex mu;
  static bool done = false;
  std::lock_guard<std::mutex> lock(mu);
  if (done) return Status::Ok();
  const struct {
    const char* soname;
    const unsigned char* bytes;
    std::size_t size;
  } shims[] = {
      // libcrypto first: CivetWeb loads it first, and the libssl stand-in needs it.
      {"libcrypto.so", kIbpathLibcryptoShim, kIbpathLibcryptoShim_size},
      {"libssl.so", kIbpathLibsslShim, kIbpathLibsslShim_size},
  };
  for (const auto& shim : shims) {
    int fd = memfd_create(shim.soname, MFD_CLOEXEC | kMfdExec);
    if (fd < 0 && errno == EINVAL) fd = memfd_create(shim.soname, MFD_CLOEXEC);  // before 6.3
    if (fd < 0) return Status::FromErrno(errno, "TLS: memfd_create");
    std::size_t off = 0;
    while (off < shim.size) {
      const ssize_t n = write(fd, shim.bytes + off, shim.size - off);
      if (n <= 0) {
        const int err = errno;
        close(fd);
        return Status::FromErrno(err, "TLS: writing the OpenSSL stand-in");
      }
      off += static_cast<std::size_t>(n);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    // The descriptor stays open for good: ld.so knows the object by this
    // path, and a reused descriptor number would make a later dlopen of
    // another /proc/self/fd/N match the wrong object.
    if (handle == nullptr) {
      close(fd);
      const char* err = dlerror();
      return Status::Unavailable(std::string("TLS: cannot load the stand-in for ") + shim.soname +
                                 " (needs libssl3): " + (err ? err : "unknown error"));
    }
    // Never closed: CivetWeb keeps using it.
  }
  done = true;
  return Status::Ok();
}

Result<std::unique_ptr<WebConfigState>> WebConfigState::Create(const std::string& path) {
  std::unique_ptr<WebConfigState> state(new WebConfigState(path));
  if (path.empty()) return state;
  auto loaded = LoadWebConfig(path);
  ++state->reloads_;
  if (!loaded.ok()) return loaded.status();
  state->current_ = *loaded;
  state->last_attempt_ = state->Identify(loaded->get());
  state->last_success_ = true;
  state->tls_enabled_ = (*loaded)->config.tls.has_value();
  return state;
}

WebConfigState::~WebConfigState() = default;

std::shared_ptr<const LoadedWebConfig> WebConfigState::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::vector<FileId> WebConfigState::Identify(const LoadedWebConfig* cur) const {
  std::vector<std::string> files = {path_};
  if (cur != nullptr && cur->config.tls) {
    files.push_back(cur->config.tls->cert_file);
    files.push_back(cur->config.tls->key_file);
    files.push_back(cur->config.tls->client_ca_file);
  }
  std::vector<FileId> out;
  for (const std::string& f : files) out.push_back(FileId::Of(f));
  return out;
}

bool WebConfigState::ReloadIfChanged() {
  if (path_.empty()) return false;
  const std::vector<FileId> now = Identify(Current().get());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now == last_attempt_) return false;
  }
  Reload();
  return true;
}

Status WebConfigState::Reload() {
  if (path_.empty()) return Status::Ok();
  auto loaded = LoadWebConfig(path_);
  Status status = loaded.status();
  if (status.ok() && (*loaded)->config.tls.has_value() != tls_enabled_) {
    status = Status::InvalidArgument("web configuration " + path_ + ": turning TLS " +
                                     (tls_enabled_ ? "off" : "on") + " needs a restart");
  }
  // The files as they are now, named by the configuration that will be in
  // use: the next change to any of them triggers the next read.
  const std::vector<FileId> ids = Identify(status.ok() ? loaded->get() : Current().get());
  std::lock_guard<std::mutex> lock(mu_);
  last_attempt_ = ids;
  ++reloads_;
  last_success_ = status.ok();
  if (!status.ok()) {
    ++failures_;
    spdlog::error("{}; keeping the previous web configuration", status.message());
    return status;
  }
  current_ = *loaded;
  ok_cache_.clear();
  spdlog::info("web configuration {} reloaded", path_);
  return status;
}

WebConfigState::AuthResult WebConfigState::Authorize(const char* authorization) {
  const auto cur = Current();
  if (!cur || cur->config.users.empty()) return AuthResult::kAllowed;
  const auto creds = ParseBasicAuthorization(authorization);
  if (!creds) return AuthResult::kDenied;
  const auto user = cur->config.users.find(creds->user);
  // An unknown user costs a bcrypt run too, so that timing does not tell
  // which users exist.
  const std::string& hash =
      user != cur->config.users.end() ? user->second : cur->config.users.begin()->second;

  std::string key(EVP_MAX_MD_SIZE, '\0');
  unsigned key_len = 0;
  const std::string material = creds->user + '\0' + creds->password + '\0' + hash;
  EVP_Digest(material.data(), material.size(), reinterpret_cast<unsigned char*>(key.data()),
             &key_len, EVP_sha256(), nullptr);
  key.resize(key_len);
  const auto now = std::chrono::steady_clock::now();
  if (user != cur->config.users.end()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ok_cache_.find(key);
    if (it != ok_cache_.end()) {
      if (it->second > now) return AuthResult::kAllowed;
      ok_cache_.erase(it);
    }
  }
  const bool ok = CheckBcryptPassword(creds->password, hash) && user != cur->config.users.end();
  std::lock_guard<std::mutex> lock(mu_);
  ++bcrypt_runs_;
  // Only successes are cached, under a key that includes the stored hash:
  // a changed password or a removed user can never hit an old entry.
  if (ok && current_ == cur) {
    if (ok_cache_.size() >= kAuthCacheMax) ok_cache_.clear();
    ok_cache_[key] = now + kAuthCacheTtl;
  }
  return ok ? AuthResult::kAllowed : AuthResult::kDenied;
}

void WebConfigState::CountUnauthorized() {
  std::lock_guard<std::mutex> lock(mu_);
  ++unauthorized_;
}

uint64_t WebConfigState::bcrypt_runs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bcrypt_runs_;
}

int WebConfigState::ClientHello(void* ssl_ptr, int* alert, void* arg) {
  SSL* ssl = static_cast<SSL*>(ssl_ptr);
  auto* self = static_cast<WebConfigState*>(arg);
  const auto cur = self->Current();
  if (!cur || !cur->config.tls) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  const WebConfig::Tls& tls = *cur->config.tls;
  auto version = [](TlsVersion v) {
    return v == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  };
  SSL_set_min_proto_version(ssl, version(tls.min_version));
  SSL_set_max_proto_version(ssl, version(tls.max_version));
  switch (tls.client_auth) {
    case ClientAuth::kNoClientCert: SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr); break;
    case ClientAuth::kRequestClientCert:
      SSL_set_verify(ssl, SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuth::kRequireAnyClientCert:
      SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, AcceptAnyCertificate);
      break;
    case ClientAuth::kVerifyClientCertIfGiven: SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr); break;
    case ClientAuth::kRequireAndVerifyClientCert:
      SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  if (cur->client_cas != nullptr) {
    // Only the store: naming the CAs in the CertificateRequest
    // (SSL_set_client_CA_list) from this callback made Go's TLS 1.3 client,
    // Prometheus, reject the message as malformed.
    SSL_set1_verify_cert_store(ssl, cur->client_cas);
  }
  if (SSL_use_cert_and_key(ssl, cur->cert, cur->key, cur->chain, 1) != 1) {
    spdlog::warn("TLS: cannot use the configured certificate: {}", OpenSslError());
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

int WebConfigState::InitSsl(void* ssl_ctx) {
  SSL_CTX* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  // No session resumption: every connection is judged by the configuration
  // current at its handshake (a resumed session would skip a newly required
  // client certificate).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_client_hello_cb(
      ctx,
      [](SSL* ssl, int* alert, void* arg) { return WebConfigState::ClientHello(ssl, alert, arg); },
      this);
  return 1;
}

Status WebConfigState::Collect(MetricSink& out) {
  constexpr const char* kSuccess = "ibpath_web_config_last_reload_success";
  constexpr const char* kSuccessHelp =
      "1 if the last read of --web.config.file loaded completely (else the previous one is in "
      "use).";
  constexpr const char* kReloads = "ibpath_web_config_reloads_total";
  constexpr const char* kReloadsHelp = "Reads of --web.config.file.";
  constexpr const char* kFailures = "ibpath_web_config_reload_failures_total";
  constexpr const char* kFailuresHelp = "Reads of --web.config.file that were not taken.";
  constexpr const char* kDenied = "ibpath_web_unauthorized_requests_total";
  constexpr const char* kDeniedHelp = "Requests answered 401 for missing or wrong credentials.";
  if (path_.empty()) {
    out.Declare(kSuccess, kSuccessHelp, prometheus::MetricType::Gauge);
    out.Declare(kReloads, kReloadsHelp, prometheus::MetricType::Counter);
    out.Declare(kFailures, kFailuresHelp, prometheus::MetricType::Counter);
    out.Declare(kDenied, kDeniedHelp, prometheus::MetricType::Counter);
    return Status::Ok();
  }
  std::lock_guard<std::mutex> lock(mu_);
  out.Gauge(kSuccess, kSuccessHelp, {}, last_success_ ? 1 : 0);
  out.Counter(kReloads, kReloadsHelp, {}, static_cast<double>(reloads_));
  out.Counter(kFailures, kFailuresHelp, {}, static_cast<double>(failures_));
  out.Counter(kDenied, kDeniedHelp, {}, static_cast<double>(unauthorized_));
  return Status::Ok();
}

}  // namespace ibpath
