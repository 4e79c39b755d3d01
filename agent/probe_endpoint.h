// /probe: on-demand data-path probes in the blackbox_exporter multi-target
// style. Prometheus passes the target as a parameter and gets the probe
// metrics of that one run:
//
//   /probe?target=http://worker:28080/v1/range/...   any http(s) URL
//   /probe?worker=host:port&path=s3://bucket/key     an Alluxio range read
//   /probe?fuse_path=/mnt/alluxio/probe.bin          a FUSE probe of that file
//   optional &bytes=64MiB                            (default --probe.bytes)
//
// A failed probe is still 200 with ibpath_probe_success 0; a bad request is
// 400; 503 when --probe.max-concurrent probes are already running.
// Thread-safety: safe from any number of HTTP threads.
#pragma once

#include <map>
#include <string>

#include "agent/http_server.h"
#include "collectors/probe.h"

namespace ibpath {

HttpServer::Response HandleProbeRequest(ProbeCollector& probes,
                                        const std::map<std::string, std::string>& query);

}  // namespace ibpath
