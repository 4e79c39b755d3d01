// HttpServer: the agent's web endpoint on CivetWeb: the node status page at /,
// /healthz, and the telemetry path serving a Collectable in the Prometheus
// text format.
//
// Contract: Start() fails with a message naming the address when it cannot
// listen. The server owns its threads until destroyed.
// Thread-safety: CivetWeb calls handlers from its worker threads; the
// Collectable must be thread-safe.
#pragma once

#include <prometheus/collectable.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collectors/source/status.h"

struct mg_context;
struct mg_connection;

namespace ibpath {

class HttpServer {
 public:
  struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
  };
  // An extra GET endpoint (e.g. /probe), listed on the landing page. The
  // handler gets the decoded query parameters and runs on a CivetWeb worker
  // thread; it must be thread-safe.
  struct Endpoint {
    std::string path;
    std::string description;
    std::function<Response(const std::map<std::string, std::string>& query)> handler;
  };
  struct Options {
    std::string listen_address = ":9879";
    std::string telemetry_path = "/metrics";
    std::string version;
    std::vector<Endpoint> endpoints;
    // TLS (--web.config.file): the port becomes a TLS port and CivetWeb hands
    // its SSL_CTX to this to set up (return 1) or refuse (-1) at start.
    std::function<int(void* ssl_ctx)> init_tls;
    // When set, every request but /healthz needs it to return true for the
    // Authorization header (nullptr when absent); others get 401.
    std::function<bool(const char* authorization)> authorize;
  };
  static Result<std::unique_ptr<HttpServer>> Start(const Options& options,
                                                   const prometheus::Collectable* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // "127.0.0.1:9879"-style descriptions of the bound ports, for the log.
  std::vector<std::string> Ports() const;

 private:
  HttpServer(Options options, const prometheus::Collectable* metrics)
      : options_(std::move(options)), metrics_(metrics) {}
  static int Handle(mg_connection* conn, void* self);
  int HandleRequest(mg_connection* conn);

  const Options options_;
  const prometheus::Collectable* metrics_;
  mg_context* ctx_ = nullptr;
};

// CivetWeb's listening_ports syntax for a Go-style address: ":9879" (all
// addresses, both families when available), "127.0.0.1:9879", "[::1]:9879".
Result<std::string> CivetListeningPorts(const std::string& listen_address, bool ipv6_supported);

// Splits and percent-decodes a query string ("a=1&b=x%20y"); a repeated
// name keeps its last value.
std::map<std::string, std::string> ParseQuery(const std::string& query);

}  // namespace ibpath
