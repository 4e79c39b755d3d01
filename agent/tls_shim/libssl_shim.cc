// Stand-in for "libssl.so" that CivetWeb 1.15 (Debian 12's libcivetweb1)
// dlopens for TLS. That build looks up the OpenSSL 1.1 name
// SSL_get_peer_certificate, which OpenSSL 3 only has as a macro, so TLS
// cannot start against the real library (civetweb/civetweb#1334). This object
// has the SONAME "libssl.so", depends on libssl.so.3 (where dlsym finds every
// other function) and defines the one missing name. The agent loads it before
// CivetWeb starts TLS, so CivetWeb's dlopen("libssl.so") finds it by SONAME.
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate  // OpenSSL 3's macro for SSL_get1_peer_certificate

extern "C" __attribute__((visibility("default"))) X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}
