// FileId: what a file is right now, to tell that it changed.
//
// Editors and configuration management replace files by rename as often as
// they rewrite them in place, so identity (device, inode) counts as much as
// size and modification time; the change time also catches chmod/chown, so
// that a file made readable is read again. A file that cannot be stat'ed has
// the all-default id, which differs from any existing file's.
// Thread-safety: plain values.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace ibpath {

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  int64_t mtime_ns = -1;
  int64_t ctime_ns = -1;
  bool operator==(const FileId&) const = default;

  static FileId Of(const std::string& path) {
    FileId id;
    struct stat st {};
    if (!path.empty() && stat(path.c_str(), &st) == 0) {
      id.dev = st.st_dev;
      id.ino = st.st_ino;
      id.size = st.st_size;
      id.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
      id.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec;
    }
    return id;
  }
};

}  // namespace ibpath
