// The HCAs and their ports as libibumad sees them (umad_get_cas_names,
// umad_get_ca): the same source ibstat uses, so the agent and an operator's
// manual check agree.
//
// Contract: libibumad always reads /sys/class/infiniband, whatever the
// agent's --path.sysfs; `class_dir` names that directory only so the reader
// can tell a real CA from the placeholder name ("mthca0") libibumad returns
// when the directory is absent or empty. Absent or empty: zero CAs, no
// problem, and libibumad is not even asked (it would warn on stderr). A CA
// that umad_get_ca cannot read is returned with `error` set; the others still
// come through. Counters are not filled in (libibumad does not read them).
// Thread-safety: Read() may be called from any thread, not concurrently.
#pragma once

#include <string>

#include "collectors/source/infiniband_sysfs.h"
#include "collectors/source/status.h"

namespace ibpath {

class UmadReader {
 public:
  explicit UmadReader(std::string class_dir = "/sys/class/infiniband")
      : class_dir_(std::move(class_dir)) {}
  Result<IbReading> Read();

 private:
  std::string class_dir_;
  enum class Init { kNotTried, kOk, kFailed };
  Init init_ = Init::kNotTried;
};

}  // namespace ibpath
