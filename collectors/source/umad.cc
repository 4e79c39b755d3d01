#include "collectors/source/umad.h"

#include <dirent.h>
#include <endian.h>
#include <infiniband/umad.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace ibpath {
namespace {

// Entries of the class directory; NotFound when it is absent.
Result<std::set<std::string>> ClassEntries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno(errno, "listing " + dir);
  std::set<std::string> out;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      out.insert(e->d_name);
    }
  }
  closedir(d);
  return out;
}

IbCa FromUmad(const umad_ca_t& u) {
  IbCa ca;
  ca.name = u.ca_name;
  ca.fw_ver = u.fw_ver;
  ca.hca_type = u.ca_type;
  ca.node_guid = FormatGuid(be64toh(u.node_guid));
  for (int i = 0; i <= u.numports && i < UMAD_CA_MAX_PORTS; ++i) {
    const umad_port_t* p = u.ports[i];
    if (p == nullptr) continue;
    IbPort port;
    port.number = p->portnum;
    port.state = static_cast<int>(p->state);
    port.phys_state = static_cast<int>(p->phys_state);
    port.link_layer = p->link_layer;
    // libibumad parses "2.5 Gb/sec (1X SDR)" as 2 (ibstat prints it as 2.5), and an
    // unparseable rate as 0, which no port runs at.
    if (p->rate == 2) {
      port.rate_gbps = 2.5;
    } else if (p->rate > 0) {
      port.rate_gbps = static_cast<double>(p->rate);
    }
    port.lid = p->base_lid;
    port.sm_lid = p->sm_lid;
    ca.ports.push_back(std::move(port));
  }
  return ca;
}

}  // namespace

Result<IbReading> UmadReader::Read() {
  IbReading out;
  auto entries = ClassEntries(class_dir_);
  if (!entries.ok()) {
    if (entries.status().code() == Status::Code::kNotFound) return out;
    return entries.status();
  }
  if (entries->empty()) return out;
  // umad_init only checks the ib_umad ABI version; CA and port queries work
  // without it, so a failure is a problem (ib_umad not loaded), not the end.
  // It is tried once: on failure libibumad warns on stderr, which must not
  // repeat every scrape.
  if (init_ == Init::kNotTried) init_ = umad_init() < 0 ? Init::kFailed : Init::kOk;
  if (init_ == Init::kFailed) {
    out.problems.push_back(
        "umad_init failed: cannot read the ib_umad ABI version (is ib_umad loaded?)");
  }
  char names[UMAD_MAX_DEVICES][UMAD_CA_NAME_LEN];
  std::memset(names, 0, sizeof names);
  const int n = umad_get_cas_names(names, UMAD_MAX_DEVICES);
  if (n < 0) return Status::FromErrno(-n, "umad_get_cas_names");
  for (int i = 0; i < n; ++i) {
    std::string name(names[i], strnlen(names[i], UMAD_CA_NAME_LEN));
    IbCa ca;
    ca.name = name;
    if (!entries->contains(name)) {
      // libibumad disagrees with the directory it read a moment ago: a CA
      // that vanished between the two, or its placeholder name.
      ca.error = "umad_get_cas_names returned " + name + ", which is not in " + class_dir_;
      out.problems.push_back(ca.error);
      out.cas.push_back(std::move(ca));
      continue;
    }
    umad_ca_t u;
    std::memset(&u, 0, sizeof u);
    if (int r = umad_get_ca(name.c_str(), &u); r < 0) {
      ca.error = "umad_get_ca(" + name + ") failed: " + std::strerror(r == -1 ? EIO : -r);
      out.problems.push_back(ca.error);
      out.cas.push_back(std::move(ca));
      continue;
    }
    out.cas.push_back(FromUmad(u));
    umad_release_ca(&u);
  }
  std::sort(out.cas.begin(), out.cas.end(),
            [](const IbCa& a, const IbCa& b) { return a.name < b.name; });
  return out;
}

}  // namespace ibpath
