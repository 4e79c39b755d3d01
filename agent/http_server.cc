#include "agent/http_server.h"

#include <civetweb.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <sstream>

#include "agent/status_page.h"

namespace ibpath {

Result<std::string> CivetListeningPorts(const std::string& listen_address, bool ipv6_supported) {
  const auto colon = listen_address.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen_address.size()) {
    return Status::InvalidArgument("listen address '" + listen_address + "' has no port");
  }
  const std::string host = listen_address.substr(0, colon);
  const std::string port = listen_address.substr(colon + 1);
  for (char c : port) {
    if (c < '0' || c > '9') {
      return Status::InvalidArgument("listen address '" + listen_address + "' has a bad port");
    }
  }
  if (host.empty()) return (ipv6_supported ? "+" : "") + port;  // "+": IPv4 and IPv6
  if (host.front() == '[') {
    if (!ipv6_supported) {
      return Status::InvalidArgument("IPv6 address '" + host +
                                     "' but this CivetWeb has no IPv6 support");
    }
    return host + ":" + port;
  }
  return host + ":" + port;
}

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  auto decode = [](const std::string& in) {
    std::string buf(in.size() + 1, '\0');
    int n = mg_url_decode(in.data(), static_cast<int>(in.size()), buf.data(),
                          static_cast<int>(buf.size()), 1);
    buf.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return buf;
  };
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    const std::string pair = query.substr(start, amp - start);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      if (eq == std::string::npos) {
        out[decode(pair)] = "";
      } else {
        out[decode(pair.substr(0, eq))] = decode(pair.substr(eq + 1));
      }
    }
    start = amp + 1;
  }
  return out;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const Options& options,
                                                      const prometheus::Collectable* metrics) {
  auto server = std::unique_ptr<HttpServer>(new HttpServer(options, metrics));
  auto ports = CivetListeningPorts(options.listen_address, mg_check_feature(8) != 0);
  if (!ports.ok()) return ports.status();
  if (options.init_tls) {
    if (mg_check_feature(2) == 0) return Status::Unavailable("this CivetWeb has no TLS support");
    *ports += "s";  // a TLS port: plain HTTP on it fails the handshake
  }
  mg_init_library(0);
  const char* civet_options[] = {
      "listening_ports",
      ports->c_str(),
      // Enough workers that a slow scraper cannot starve Prometheus; the
      // registry makes concurrent scrapes share one collection anyway.
      "num_threads",
      "8",
      "request_timeout_ms",
      "10000",
      // CivetWeb serves a kept-alive connection on its worker thread until
      // the client closes it: 8 busy keep-alive clients would hold every
      // worker and starve Prometheus (seen in test/bench/scrape_storm.py).
      // One request per connection keeps the queue fair.
      "enable_keep_alive",
      "no",
      nullptr,
  };
  mg_callbacks callbacks{};
  // CivetWeb logs to stderr by default; route its complaints through spdlog.
  callbacks.log_message = [](const mg_connection*, const char* message) {
    spdlog::warn("http: {}", message);
    return 1;
  };
  if (options.init_tls) {
    callbacks.init_ssl = [](void* ssl_ctx, void* user_data) {
      return static_cast<HttpServer*>(user_data)->options_.init_tls(ssl_ctx);
    };
  }
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = civet_options;
  char error_text[256] = {};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  server->ctx_ = mg_start2(&init, &error);
  if (server->ctx_ == nullptr) {
    return Status::Unavailable("cannot listen on " + options.listen_address + ": " +
                               (error_text[0] ? error_text : "unknown error"));
  }
  mg_set_request_handler(server->ctx_, "/", &HttpServer::Handle, server.get());
  return server;
}

HttpServer::~HttpServer() {
  if (ctx_ != nullptr) mg_stop(ctx_);
}

std::vector<std::string> HttpServer::Ports() const {
  std::vector<std::string> out;
  mg_server_port ports[8];
  int n = mg_get_server_ports(ctx_, 8, ports);
  for (int i = 0; i < n; ++i) {
    const char* fam = ports[i].protocol == 1   ? "ipv4"
                      : ports[i].protocol == 2 ? "ipv6"
                                               : "ipv4+ipv6";
    out.push_back(std::string(fam) + " port " + std::to_string(ports[i].port) +
                  (ports[i].is_ssl ? " (TLS)" : ""));
  }
  return out;
}

int HttpServer::Handle(mg_connection* conn, void* self) {
  return static_cast<HttpServer*>(self)->HandleRequest(conn);
}

namespace {

void Send(mg_connection* conn, int status, const char* content_type, const std::string& body,
          bool head, const char* extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\n%s\r\n",
            status, mg_get_response_code_text(conn, status), content_type, body.size(),
            extra_headers);
  if (!head) mg_write(conn, body.data(), body.size());
}

}  // namespace

int HttpServer::HandleRequest(mg_connection* conn) {
  const mg_request_info* req = mg_get_request_info(conn);
  const std::string uri = req->local_uri ? req->local_uri : "";
  const std::string method = req->request_method ? req->request_method : "";
  const bool head = method == "HEAD";
  // /healthz stays open (it says "ok" and nothing else) so that liveness
  // probes need no credentials; TLS and client certificates still apply.
  if (options_.authorize && uri != "/healthz" &&
      !options_.authorize(mg_get_header(conn, "Authorization"))) {
    Send(conn, 401, "text/plain; charset=utf-8", "unauthorized\n", head,
         "WWW-Authenticate: Basic realm=\"ibpath\"\r\n");
    return 401;
  }
  if (method != "GET" && !head) {
    Send(conn, 405, "text/plain; charset=utf-8", "method not allowed\n", false);
    return 405;
  }
  if (uri == options_.telemetry_path) {
    std::ostringstream body;
    prometheus::TextSerializer().Serialize(body, metrics_->Collect());
    Send(conn, 200, "text/plain; version=0.0.4; charset=utf-8", body.str(), head);
    return 200;
  }
  for (const Endpoint& e : options_.endpoints) {
    if (uri != e.path) continue;
    Response r = e.handler(ParseQuery(req->query_string ? req->query_string : ""));
    Send(conn, r.status, r.content_type.c_str(), r.body, head);
    return r.status;
  }
  if (uri == "/healthz") {
    Send(conn, 200, "text/plain; charset=utf-8", "ok\n", head);
    return 200;
  }
  if (uri == "/") {
    // The node status page, from the same shared collection a scrape gets.
    StatusPageInfo info;
    info.version = options_.version;
    info.telemetry_path = options_.telemetry_path;
    for (const Endpoint& e : options_.endpoints) info.endpoints.emplace_back(e.path, e.description);
    char hostname[256] = {};
    if (gethostname(hostname, sizeof(hostname) - 1) == 0) info.hostname = hostname;
    info.now = std::time(nullptr);
    Send(conn, 200, "text/html; charset=utf-8", RenderStatusPage(metrics_->Collect(), info), head);
    return 200;
  }
  Send(conn, 404, "text/plain; charset=utf-8", "not found; see /\n", head);
  return 404;
}

}  // namespace ibpath
