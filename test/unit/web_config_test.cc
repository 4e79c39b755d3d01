#include "agent/web_config.h"

#include <crypt.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace ibpath {
namespace {

// A bcrypt hash made here with libxcrypt (cost 4: fast).
std::string Bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof(salt)), nullptr);
  crypt_data data{};
  const char* out = crypt_rn(password.c_str(), salt, &data, sizeof(data));
  EXPECT_NE(out, nullptr);
  return out ? out : "";
}

const std::string kHash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

TEST(WebConfig, GoodConfigResolvesPathsFromItsDirectory) {
  auto c = ParseWebConfig(
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: /etc/keys/server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: ca.crt\n"
      "  min_version: TLS13\n"
      "basic_auth_users:\n"
      "  prometheus: " +
          kHash + "\n",
      "/etc/ibpath");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->tls);
  EXPECT_EQ(c->tls->cert_file, "/etc/ibpath/server.crt");
  EXPECT_EQ(c->tls->key_file, "/etc/keys/server.key");
  EXPECT_EQ(c->tls->client_ca_file, "/etc/ibpath/ca.crt");
  EXPECT_EQ(c->tls->client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(c->tls->min_version, TlsVersion::kTls13);
  EXPECT_EQ(c->users.at("prometheus"), kHash);
}

TEST(WebConfig, EmptyFileAndNullSectionsMeanNothing) {
  for (const char* text : {"", "\n# only a comment\n", "tls_server_config:\nbasic_auth_users:\n"}) {
    auto c = ParseWebConfig(text, "/d");
    ASSERT_TRUE(c.ok()) << text << ": " << c.status().ToString();
    EXPECT_FALSE(c->tls);
    EXPECT_TRUE(c->users.empty());
  }
}

TEST(WebConfig, ClientAuthTypes) {
  const std::pair<const char*, ClientAuth> cases[] = {
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  for (const auto& [name, want] : cases) {
    std::string text = "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: " +
                       std::string(name) + "\n";
    if (want != ClientAuth::kNoClientCert) text += "  client_ca_file: ca.crt\n";
    auto c = ParseWebConfig(text, "");
    ASSERT_TRUE(c.ok()) << name << ": " << c.status().ToString();
    EXPECT_EQ(c->tls->client_auth, want) << name;
  }
}

// Each bad configuration fails with a message naming the problem.
TEST(WebConfig, BadConfigsNameTheProblem) {
  const std::string tls = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  const std::pair<std::string, std::string> cases[] = {
      {"tls_server_config: [\n", "not valid YAML"},
      {"- a\n- b\n", "must be a mapping"},
      {"tls_config:\n  cert_file: a\n", "unknown key tls_config"},
      {tls + "  certfile: x\n", "unknown key tls_server_config.certfile"},
      {tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "cipher_suites is not supported"},
      {"http_server_config:\n  http2: false\n", "http_server_config is not supported"},
      {"tls_server_config:\n  key_file: b\n", "missing cert_file"},
      {"tls_server_config:\n  cert_file: a\n", "missing key_file"},
      {tls + "  client_auth_type: RequireAndVerifyClientCert\n", "needs client_ca_file"},
      {tls + "  client_auth_type: VerifyClientCertIfGiven\n", "needs client_ca_file"},
      {tls + "  client_auth_type: Sometimes\n", "unknown value \"Sometimes\""},
      {tls + "  client_ca_file: ca.crt\n", "client_auth_type is NoClientCert"},
      {tls + "  min_version: TLS11\n", "TLS11 is not supported"},
      {tls + "  min_version: SSL3\n", "unknown TLS version"},
      {tls + "  min_version: TLS13\n  max_version: TLS12\n", "max_version is below min_version"},
      {tls + "  cert_file: c\n", "\"cert_file\" twice"},
      {"basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice is not a bcrypt hash"},
      {"basic_auth_users:\n  alice: $1$abc$def\n", "not a bcrypt hash"},
      {"basic_auth_users:\n  alice: [" + kHash + "]\n", "must be a string"},
      {"basic_auth_users:\n  \"a:b\": " + kHash + "\n", "has a ':'"},
      {"basic_auth_users:\n  alice: " + kHash + "\n  alice: " + kHash + "\n", "\"alice\" twice"},
      {"basic_auth_users: [alice]\n", "basic_auth_users must be a mapping"},
  };
  for (const auto& [text, want] : cases) {
    auto c = ParseWebConfig(text, "");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.status().message().find(want), std::string::npos)
        << text << "\n  got: " << c.status().message() << "\n  want: " << want;
  }
}

TEST(WebConfig, BcryptHashShape) {
  EXPECT_TRUE(IsBcryptHash(kHash));
  EXPECT_TRUE(IsBcryptHash(Bcrypt("x")));
  EXPECT_FALSE(IsBcryptHash(""));
  EXPECT_FALSE(IsBcryptHash("$2x$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"));
  EXPECT_FALSE(IsBcryptHash("$2y$03$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"));
  EXPECT_FALSE(IsBcryptHash("$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7z"));
  EXPECT_FALSE(IsBcryptHash("$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7z!"));
}

TEST(WebConfig, PasswordCheck) {
  const std::string hash = Bcrypt("s3cret");
  EXPECT_TRUE(CheckBcryptPassword("s3cret", hash));
  EXPECT_FALSE(CheckBcryptPassword("s3cret ", hash));
  EXPECT_FALSE(CheckBcryptPassword("", hash));
  EXPECT_FALSE(CheckBcryptPassword(std::string("s3cret\0x", 8), hash));
  EXPECT_FALSE(CheckBcryptPassword("s3cret", "not a hash"));
  // htpasswd's $2y$ prefix.
  std::string y = hash;
  y[2] = 'y';
  EXPECT_TRUE(CheckBcryptPassword("s3cret", y));
}

TEST(WebConfig, BasicAuthorizationHeader) {
  auto c = ParseBasicAuthorization("Basic YWxpY2U6b3Blbjpz");  // alice:open:s
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "open:s");
  c = ParseBasicAuthorization("basic  Ym9iOg==");  // bob:
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "bob");
  EXPECT_EQ(c->password, "");
  EXPECT_FALSE(ParseBasicAuthorization(nullptr));
  EXPECT_FALSE(ParseBasicAuthorization("Bearer abc"));
  EXPECT_FALSE(ParseBasicAuthorization("Basic "));
  EXPECT_FALSE(ParseBasicAuthorization("Basic YWxpY2U"));    // not a multiple of 4
  EXPECT_FALSE(ParseBasicAuthorization("Basic YW=xpY2U="));  // data after padding
  EXPECT_FALSE(ParseBasicAuthorization("Basic YWxpY2U*"));   // not base64
  EXPECT_FALSE(ParseBasicAuthorization("Basic YWxpY2U="));   // "alice": no colon
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ibpath-webcfg-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Header(const std::string& user, const std::string& password) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out = "Basic ";
  for (std::size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

TEST(WebConfigState, MissingAndBrokenFilesFailAtStart) {
  TempDir dir;
  auto missing = WebConfigState::Create(dir.path() + "/nope.yml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.yml"), std::string::npos);

  const std::string cfg =
      dir.Write("web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  auto no_cert = WebConfigState::Create(cfg);
  ASSERT_FALSE(no_cert.ok());
  EXPECT_NE(no_cert.status().message().find("cert_file " + dir.path() + "/server.crt"),
            std::string::npos)
      << no_cert.status().message();

  dir.Write("server.crt", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  auto bad_cert = WebConfigState::Create(cfg);
  ASSERT_FALSE(bad_cert.ok());
  EXPECT_NE(bad_cert.status().message().find("server.crt"), std::string::npos)
      << bad_cert.status().message();

  dir.Write("server.crt", "no PEM here\n");
  auto empty_cert = WebConfigState::Create(cfg);
  ASSERT_FALSE(empty_cert.ok());
  EXPECT_NE(empty_cert.status().message().find("no PEM certificate"), std::string::npos)
      << empty_cert.status().message();
}

TEST(WebConfigState, BasicAuthCachesOnlySuccessAndFollowsReloads) {
  TempDir dir;
  const std::string cfg =
      dir.Write("web.yml", "basic_auth_users:\n  alice: " + Bcrypt("one") + "\n");
  auto state = WebConfigState::Create(cfg);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  WebConfigState& s = **state;
  EXPECT_FALSE(s.tls_enabled());
  using R = WebConfigState::AuthResult;
  EXPECT_EQ(s.Authorize(nullptr), R::kDenied);
  EXPECT_EQ(s.Authorize(Header("alice", "two").c_str()), R::kDenied);
  EXPECT_EQ(s.Authorize(Header("mallory", "one").c_str()), R::kDenied);
  EXPECT_EQ(s.Authorize(Header("alice", "one").c_str()), R::kAllowed);
  const uint64_t runs = s.bcrypt_runs();
  EXPECT_EQ(s.Authorize(Header("alice", "one").c_str()), R::kAllowed);
  EXPECT_EQ(s.bcrypt_runs(), runs);  // cached
  EXPECT_EQ(s.Authorize(Header("alice", "two").c_str()), R::kDenied);
  EXPECT_EQ(s.Authorize(Header("alice", "two").c_str()), R::kDenied);
  EXPECT_EQ(s.bcrypt_runs(), runs + 2);  // failures are never cached

  // A bad new version keeps the old one.
  dir.Write("web.yml", "basic_auth_users:\n  alice: plaintext\n");
  EXPECT_TRUE(s.ReloadIfChanged());
  EXPECT_FALSE(s.ReloadIfChanged());  // no retry until it changes again
  EXPECT_EQ(s.Authorize(Header("alice", "one").c_str()), R::kAllowed);
  MetricSink sink;
  ASSERT_TRUE(s.Collect(sink).ok());
  bool saw = false;
  for (const auto& f : sink.Take()) {
    if (f.name == "ibpath_web_config_last_reload_success") {
      saw = true;
      EXPECT_EQ(f.metric.at(0).gauge.value, 0);
    }
  }
  EXPECT_TRUE(saw);

  // A good one with a new password: the old password (cached) stops working.
  dir.Write("web.yml", "basic_auth_users:\n  alice: " + Bcrypt("two") + "\n# changed\n");
  EXPECT_TRUE(s.ReloadIfChanged());
  EXPECT_EQ(s.Authorize(Header("alice", "one").c_str()), R::kDenied);
  EXPECT_EQ(s.Authorize(Header("alice", "two").c_str()), R::kAllowed);

  // TLS cannot be turned on without a restart.
  dir.Write("web.yml", "tls_server_config:\n  cert_file: a\n  key_file: b\n");
  EXPECT_FALSE(s.Reload().ok());
  EXPECT_EQ(s.Authorize(Header("alice", "two").c_str()), R::kAllowed);
}

TEST(WebConfigState, NoFileMeansOpenAndDeclaredMetrics) {
  auto state = WebConfigState::Create("");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ((*state)->Authorize(nullptr), WebConfigState::AuthResult::kAllowed);
  MetricSink sink;
  ASSERT_TRUE((*state)->Collect(sink).ok());
  auto families = sink.Take();
  EXPECT_EQ(families.size(), 4u);
  for (const auto& f : families) EXPECT_TRUE(f.metric.empty()) << f.name;
}

}  // namespace
}  // namespace ibpath
