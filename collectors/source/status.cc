#include "collectors/source/status.h"

#include <cerrno>
#include <cstring>

namespace ibpath {

std::string_view CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kPermissionDenied: return "permission denied";
    case Status::Code::kInvalidData: return "invalid data";
    case Status::Code::kIoError: return "i/o error";
    case Status::Code::kUnavailable: return "unavailable";
    case Status::Code::kInvalidArgument: return "invalid argument";
  }
  return "unknown";
}

Status Status::FromErrno(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO: return NotFound(std::move(msg));
    case EACCES:
    case EPERM: return PermissionDenied(std::move(msg));
    case EINVAL: return InvalidArgument(std::move(msg));
    case EAGAIN:
    case EBUSY:
    case ETIMEDOUT: return Unavailable(std::move(msg));
    default: return IoError(std::move(msg));
  }
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s(CodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

}  // namespace ibpath
