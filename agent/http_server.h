// HttpServer: the agent's web endpoint on CivetWeb: a landing page at /,
// /healthz, and the telemetry path serving a Collectable in the Prometheus
// text format.
//
// Contract: Start() fails with a message naming the address when it cannot
// listen. The server owns its threads until destroyed.
// Thread-safety: CivetWeb calls handlers from its worker threads; the
// Collectable must be thread-safe.
#pragma once

#include <prometheus/collectable.h>

#include <memory>
#include <string>
#include <vector>

#include "collectors/source/status.h"

struct mg_context;
struct mg_connection;

namespace ibpath {

class HttpServer {
 public:
  struct Options {
    std::string listen_address = ":9879";
    std::string telemetry_path = "/metrics";
    std::string version;
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

}  // namespace ibpath
