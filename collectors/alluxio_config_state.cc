#include "collectors/alluxio_config_state.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace ibpath {

Result<std::string> ReadSmallFile(const std::string& path, std::size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path);
  struct stat st {};
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::InvalidArgument(path + " is not a regular file");
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return Status::FromErrno(e, "reading " + path);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      close(fd);
      return Status::InvalidData(path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

AlluxioConfigState::AlluxioConfigState(std::string path)
    : path_(std::move(path)), current_(std::make_shared<AlluxioConf>(DefaultAlluxioConf())) {
  if (path_.empty()) {
    have_good_ = true;
    info_.last_success = true;
  }
}

namespace {
constexpr std::size_t kMaxConfBytes = 4 << 20;  // real site files are a few KiB
}  // namespace

Status AlluxioConfigState::Reload() {
  if (path_.empty()) return Status::Ok();
  const FileId id = FileId::Of(path_);
  Result<std::string> text = ReadSmallFile(path_, kMaxConfBytes);

  std::lock_guard<std::mutex> lock(mu_);
  last_seen_ = id;
  ++info_.attempts;
  if (!text.ok()) {
    ++info_.failures;
    info_.last_success = false;
    Status s = text.status().WithContext("alluxio configuration");
    spdlog::error("{}; keeping the {} configuration", s.message(),
                  have_good_ ? "last good" : "default");
    return s;
  }
  // An editor that rewrites in place truncates first: an empty file after a
  // good one is far more often a write in progress than an intent to fall
  // back to every default. Keep the last good one; the next change reloads.
  if (text->empty() && have_good_) {
    ++info_.failures;
    info_.last_success = false;
    spdlog::error("{} is empty (being rewritten?); keeping the last good configuration", path_);
    return Status::Ok();
  }
  auto conf = std::make_shared<AlluxioConf>(BuildAlluxioConf(path_, *text));
  for (const PropertyProblem& p : conf->problems) {
    spdlog::warn("{}:{}: {}{}{}", path_, p.line, p.key, p.key.empty() ? "" : ": ", p.message);
  }
  info_.problems_in_last_read = conf->problems.size();
  const bool clean = conf->problems.empty();
  if (clean || !have_good_) {
    current_ = std::move(conf);
  } else {
    spdlog::error("{}: {} problem(s); keeping the last good configuration", path_,
                  info_.problems_in_last_read);
  }
  info_.last_success = clean;
  if (clean) {
    have_good_ = true;
    info_.last_success_unix_seconds =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    spdlog::info("loaded Alluxio configuration {}", path_);
  } else {
    ++info_.failures;
  }
  return Status::Ok();
}

bool AlluxioConfigState::ReloadIfChanged() {
  if (path_.empty()) return false;
  const FileId id = FileId::Of(path_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (id == last_seen_) return false;
  }
  Reload();
  return true;
}

std::shared_ptr<const AlluxioConf> AlluxioConfigState::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

AlluxioConfigState::ReloadInfo AlluxioConfigState::Info() const {
  std::lock_guard<std::mutex> lock(mu_);
  return info_;
}

}  // namespace ibpath
