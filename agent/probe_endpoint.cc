#include "agent/probe_endpoint.h"

#include <prometheus/text_serializer.h>

#include <sstream>

#include "agent/flags.h"
#include "collectors/metric_sink.h"
#include "collectors/source/alluxio_http.h"

namespace ibpath {
namespace {

HttpServer::Response BadRequest(const std::string& why) {
  return {400, "text/plain; charset=utf-8", why + "\n"};
}

HttpServer::Response Answer(const std::optional<ProbeOutcome>& outcome);

}  // namespace

HttpServer::Response HandleProbeRequest(ProbeCollector& probes,
                                        const std::map<std::string, std::string>& query) {
  auto get = [&](const char* name) {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  };
  uint64_t bytes = probes.default_bytes();
  if (const std::string b = get("bytes"); !b.empty() && !ParseSize(b, &bytes).ok()) {
    return BadRequest("bytes='" + b + "' is not a size (e.g. 1048576, 64MiB)");
  }
  if (const std::string fuse_path = get("fuse_path"); !fuse_path.empty()) {
    if (!get("target").empty() || !get("worker").empty() || !get("path").empty()) {
      return BadRequest("give fuse_path alone (with optional bytes), not with target or worker");
    }
    if (fuse_path[0] != '/') return BadRequest("fuse_path must be an absolute path");
    return Answer(probes.RunOnDemandFuse(fuse_path, bytes));
  }
  std::string url = get("target");
  const std::string worker = get("worker"), path = get("path");
  if (url.empty() == (worker.empty() || path.empty())) {
    return BadRequest("give target=<http(s) URL>, or worker=<host:port> and path=<UFS path>");
  }
  if (url.empty()) {
    auto built = AlluxioRangeUrl(worker, path, 0, bytes);
    if (!built.ok()) return BadRequest(built.status().message());
    url = *built;
  } else if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return BadRequest("target must be an http:// or https:// URL");
  }
  return Answer(probes.RunOnDemand(url, bytes));
}

namespace {

HttpServer::Response Answer(const std::optional<ProbeOutcome>& outcome) {
  if (!outcome) return {503, "text/plain; charset=utf-8", "too many probes running; retry\n"};
  MetricSink sink;
  ExportProbe(&*outcome, sink);
  std::ostringstream body;
  prometheus::TextSerializer().Serialize(body, sink.Take());
  return {200, "text/plain; version=0.0.4; charset=utf-8", body.str()};
}

}  // namespace

}  // namespace ibpath
