// BuildAlluxioConf on any alluxio-site.properties text. Invariants: the role
// table keeps its shape (same roles, same keys, data-path flags) with a
// valid port each, findable by RoleForPort; bind devices and advertised hosts
// come from their own keys, trimmed and non-empty.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "collectors/source/alluxio_conf.h"
#include "test/fuzz/fuzz_check.h"

namespace {

bool Trimmed(const std::string& s) {
  return !s.empty() && s.front() != ' ' && s.front() != '\t' && s.back() != ' ' && s.back() != '\t';
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const AlluxioConf conf = BuildAlluxioConf("fuzz.properties", text);
  const std::vector<PortRole>& defaults = DefaultPortRoles();
  FUZZ_CHECK(conf.roles.size() == defaults.size());
  for (std::size_t i = 0; i < defaults.size(); ++i) {
    const PortRole& r = conf.roles[i];
    FUZZ_CHECK(r.role == defaults[i].role);
    FUZZ_CHECK(r.property == defaults[i].property);
    FUZZ_CHECK(r.data_path == defaults[i].data_path);
    FUZZ_CHECK(r.port != 0);
    const PortRole* found = conf.RoleForPort(r.port);
    FUZZ_CHECK(found != nullptr && found->port == r.port);
  }
  FUZZ_CHECK(conf.Ports().size() == conf.roles.size());
  for (const auto& [key, dev] : conf.bind_devices) {
    FUZZ_CHECK(Contains(DataBindDeviceProperties(), key));
    FUZZ_CHECK(Trimmed(dev));
    FUZZ_CHECK(conf.values.contains(key));
    FUZZ_CHECK(conf.values.at(key).find(dev) != std::string::npos);
  }
  for (const auto& [key, host] : conf.advertised_hosts) {
    FUZZ_CHECK(Contains(AdvertisedHostProperties(), key));
    FUZZ_CHECK(Trimmed(host));
    FUZZ_CHECK(conf.values.contains(key));
  }
  for (const auto& [key, value] : conf.values) FUZZ_CHECK(key.starts_with("alluxio."));
  for (const PropertyProblem& p : conf.problems) FUZZ_CHECK(!p.message.empty());
  return 0;
}
