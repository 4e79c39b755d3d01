#include "collectors/source/alluxio_conf.h"

#include <gtest/gtest.h>

#include <set>

namespace ibpath {
namespace {

TEST(AlluxioConf, DefaultsMatchAlluxio) {
  AlluxioConf c = DefaultAlluxioConf();
  struct Want {
    const char* role;
    uint16_t port;
    bool data;
  } want[] = {{"worker_rpc", 29999, true},  {"worker_data", 29997, true},
              {"worker_http", 28080, true}, {"worker_rest", 29998, true},
              {"worker_web", 30000, false}, {"master_rpc", 19998, false},
              {"master_web", 19999, false}, {"fuse_web", 49999, false}};
  for (const Want& w : want) {
    const PortRole* r = c.RoleForPort(w.port);
    ASSERT_NE(r, nullptr) << w.role;
    EXPECT_EQ(r->role, w.role);
    EXPECT_EQ(r->data_path, w.data) << w.role;
  }
  EXPECT_EQ(c.RoleForPort(22), nullptr);
}

TEST(AlluxioConf, FileOverridesPortsAndNamesDevices) {
  AlluxioConf c = BuildAlluxioConf("site.properties",
                                   "alluxio.worker.data.port=39997\n"
                                   "alluxio.worker.data.bind.device=ib0\n"
                                   "alluxio.user.network.data.bind.device = ibp12s0\n"
                                   "alluxio.worker.hostname=worker-7.ib\n");
  EXPECT_TRUE(c.problems.empty());
  ASSERT_NE(c.RoleForPort(39997), nullptr);
  EXPECT_EQ(c.RoleForPort(39997)->role, "worker_data");
  EXPECT_EQ(c.RoleForPort(29997), nullptr);
  EXPECT_EQ(c.bind_devices, (std::vector<std::pair<std::string, std::string>>{
                                {"alluxio.worker.data.bind.device", "ib0"},
                                {"alluxio.user.network.data.bind.device", "ibp12s0"}}));
  EXPECT_EQ(c.advertised_hosts, (std::vector<std::pair<std::string, std::string>>{
                                    {"alluxio.worker.hostname", "worker-7.ib"}}));
}

TEST(AlluxioConf, SubstitutionReachesDevicesAndPorts) {
  AlluxioConf c = BuildAlluxioConf("p",
                                   "alluxio.site.ib=ib0\n"
                                   "alluxio.worker.data.bind.device=${alluxio.site.ib}\n"
                                   "alluxio.worker.rpc.port=${alluxio.worker.data.port}\n");
  EXPECT_TRUE(c.problems.empty());
  ASSERT_EQ(c.bind_devices.size(), 1u);
  EXPECT_EQ(c.bind_devices[0].second, "ib0");
  ASSERT_NE(c.RoleForPort(29997), nullptr);
}

TEST(AlluxioConf, BadPortIsAProblemAndKeepsTheDefault) {
  AlluxioConf c = BuildAlluxioConf("p",
                                   "alluxio.worker.rpc.port=70000\n"
                                   "alluxio.worker.data.port=abc\n"
                                   "alluxio.worker.data.bind.device=ib0\n");
  ASSERT_EQ(c.problems.size(), 2u);
  EXPECT_EQ(c.problems[0].line + c.problems[1].line, 3);
  EXPECT_NE(c.RoleForPort(29999), nullptr);
  EXPECT_NE(c.RoleForPort(29997), nullptr);
  EXPECT_EQ(c.bind_devices.size(), 1u) << "one bad line must not hide the others";
}

TEST(AlluxioConf, UnresolvableDeviceIsLeftOut) {
  AlluxioConf c = BuildAlluxioConf("p", "alluxio.worker.data.bind.device=${alluxio.nope}\n");
  EXPECT_EQ(c.problems.size(), 1u);
  EXPECT_TRUE(c.bind_devices.empty());
}

TEST(LocateSiteProperties, SearchOrder) {
  std::map<std::string, std::string> env = {
      {"ALLUXIO_CONF_DIR", "/conf"}, {"ALLUXIO_HOME", "/opt/a"}, {"HOME", "/home/u"}};
  std::set<std::string> files;
  auto getenv = [&](const char* k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto exists = [&](const std::string& p) { return files.count(p) != 0; };

  EXPECT_EQ(LocateAlluxioSiteProperties("/x.properties", getenv, exists), "/x.properties")
      << "an explicit flag wins even when the file is missing (then reading it fails loudly)";
  EXPECT_EQ(LocateAlluxioSiteProperties("", getenv, exists), "");
  files.insert("/etc/alluxio/alluxio-site.properties");
  EXPECT_EQ(LocateAlluxioSiteProperties("", getenv, exists),
            "/etc/alluxio/alluxio-site.properties");
  files.insert("/home/u/.alluxio/alluxio-site.properties");
  EXPECT_EQ(LocateAlluxioSiteProperties("", getenv, exists),
            "/home/u/.alluxio/alluxio-site.properties");
  files.insert("/opt/a/conf/alluxio-site.properties");
  EXPECT_EQ(LocateAlluxioSiteProperties("", getenv, exists), "/opt/a/conf/alluxio-site.properties");
  files.insert("/conf/alluxio-site.properties");
  EXPECT_EQ(LocateAlluxioSiteProperties("", getenv, exists), "/conf/alluxio-site.properties");
}

}  // namespace
}  // namespace ibpath
