// URLs of an Alluxio 3.x worker's HTTP data server, built the way the
// alluxio-py client builds them (alluxio/const.py FULL_RANGE_URL_FORMAT,
// AlluxioFileSystem._get_path_hash):
//
//   http://<worker>:<port>/v1/range/<path_id>?ufsFullPath=<path>&offset=<o>&length=<n>
//
// where path_id is the lower-case SHA-256 hex digest of the UTF-8 bytes of
// the file's full UFS path (s3://bucket/key, hdfs://..., /local/path).
//
// Contract: pure functions; no I/O.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "collectors/source/status.h"

namespace ibpath {

// Default of alluxio.worker.http.server.port.
constexpr uint16_t kAlluxioWorkerHttpPort = 28080;

// Lower-case hex SHA-256 digest of `data` (OpenSSL libcrypto).
std::string Sha256Hex(std::string_view data);

// The worker's id for a file: Sha256Hex(full UFS path).
inline std::string AlluxioPathId(std::string_view ufs_full_path) {
  return Sha256Hex(ufs_full_path);
}

// Percent-encodes a query value. Unreserved characters and '/' and ':' stay
// as they are, so ordinary UFS paths read exactly as alluxio-py sends them
// (it does not encode at all); anything that would break the query ('&',
// '=', '?', '#', '%', space, bytes >= 0x80) is encoded.
std::string EncodeQueryValue(std::string_view value);

// Builds the range-read URL. `worker` is "host", "host:port", "[v6]" or
// "[v6]:port"; the port defaults to kAlluxioWorkerHttpPort. Fails on an
// empty worker or path or a bad port.
Result<std::string> AlluxioRangeUrl(std::string_view worker, std::string_view ufs_full_path,
                                    uint64_t offset, uint64_t length);

}  // namespace ibpath
