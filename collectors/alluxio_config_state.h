// AlluxioConfigState: the Alluxio configuration the agent currently judges
// against, reloaded on demand (SIGHUP) and when the file changes.
//
// Contract: a reload replaces the current configuration only when the file
// was read and has no problems; otherwise the last good one stays and the
// failure is recorded (ibpath_alluxio_config_last_reload_success = 0). At
// start there is no last good one, so a readable file with bad lines is used
// for what it has. An empty file after a good one counts as a failed read
// (an in-place rewrite caught half way).
// Thread-safety: all methods are safe from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collectors/source/alluxio_conf.h"
#include "collectors/source/file_id.h"
#include "collectors/source/status.h"

namespace ibpath {

class AlluxioConfigState {
 public:
  // `path` empty: no file, Alluxio's defaults.
  explicit AlluxioConfigState(std::string path);

  // Reads the file now. Returns the read error, or OK (problems in the file
  // are logged and recorded but are not an error here).
  Status Reload();
  // Reloads when the file's identity, size or modification time changed
  // since the last attempt. Returns true when it attempted a reload.
  bool ReloadIfChanged();

  std::shared_ptr<const AlluxioConf> Current() const;

  struct ReloadInfo {
    bool last_success = false;
    double last_success_unix_seconds = 0;
    uint64_t attempts = 0;
    uint64_t failures = 0;
    std::size_t problems_in_last_read = 0;
  };
  ReloadInfo Info() const;
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const AlluxioConf> current_;
  bool have_good_ = false;
  FileId last_seen_;
  ReloadInfo info_;
};

// Reads at most `max_bytes` of a regular file. Refuses anything else (a
// FIFO or a device would block or never end).
Result<std::string> ReadSmallFile(const std::string& path, std::size_t max_bytes);

}  // namespace ibpath
