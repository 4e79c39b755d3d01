#include "agent/check.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "collectors/metric_sink.h"

namespace ibpath {
namespace {

// A node as the collectors would describe it: worker data port on ib0,
// expected device ib0 from the Alluxio configuration.
class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink.Gauge("ibpath_datapath_expected_device", "",
               {{"device", "ib0"}, {"source", "alluxio-conf"}}, 1);
    sink.Gauge("ibpath_datapath_expected_device_present", "", {{"device", "ib0"}}, 1);
    sink.Gauge("ibpath_alluxio_port_info", "",
               {{"role", "worker_data"}, {"port", "29997"}, {"data_path", "true"}}, 1);
    sink.Gauge("ibpath_alluxio_port_info", "",
               {{"role", "master_rpc"}, {"port", "19998"}, {"data_path", "false"}}, 1);
    Netdev("ib0", "up");
    Netdev("eth0", "up");
    sink.Gauge("ibpath_alluxio_config_last_reload_success", "", {}, 1);
    sink.Gauge("ibpath_alluxio_config_info", "", {{"path", "/etc/alluxio/alluxio-site.properties"}},
               1);
    sink.Gauge("ibpath_collector_success", "", {{"collector", "netdev"}}, 1);
  }
  void Netdev(const std::string& dev, const std::string& state) {
    sink.Gauge("ibpath_netdev_info", "",
               {{"device", dev},
                {"transport", "infiniband"},
                {"kind", ""},
                {"operstate", state},
                {"master", ""}},
               1);
  }
  void Connections(const std::string& role, const std::string& dev, double n, double fallback) {
    sink.Gauge("ibpath_alluxio_connections", "",
               {{"role", role}, {"side", "server"}, {"device", dev}}, n);
    sink.Gauge("ibpath_alluxio_fallback_connections", "", {}, fallback);
  }
  CheckResult Find(const std::string& name) {
    if (results.empty()) results = EvaluateChecks(sink.Take());
    for (const auto& r : results) {
      if (r.name == name) return r;
    }
    ADD_FAILURE() << "no check " << name;
    return {};
  }

  MetricSink sink;
  std::vector<CheckResult> results;
};

TEST_F(CheckTest, HealthyDataPath) {
  Connections("worker_data", "ib0", 3, 0);
  sink.Gauge("ibpath_alluxio_listener_info", "",
             {{"role", "worker_data"},
              {"address", "198.18.0.1"},
              {"port", "29997"},
              {"device", "ib0"},
              {"on_data_device", "true"}},
             1);
  EXPECT_EQ(Find("data_connections").status, CheckStatus::kOk);
  EXPECT_EQ(Find("listeners").status, CheckStatus::kOk);
  EXPECT_EQ(Find("data_devices").status, CheckStatus::kOk);
  EXPECT_TRUE(Healthy(results));
  EXPECT_NE(FormatChecksText(results).find("data path: healthy"), std::string::npos);
}

TEST_F(CheckTest, FallbackNamesTheDeviceAndTheFix) {
  Connections("worker_data", "eth0", 2, 2);
  Connections("master_rpc", "eth0", 1, 2);  // not data path: not counted
  CheckResult r = Find("data_connections");
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.detail.find("2 of 2"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("eth0"), std::string::npos) << r.detail;
  EXPECT_NE(r.fix.find("alluxio.worker.data.bind.device=ib0"), std::string::npos) << r.fix;
  EXPECT_FALSE(Healthy(results));
}

TEST_F(CheckTest, AbsentFamiliesSkipNotFail) {
  // No IB collectors on this build, no probe configured.
  EXPECT_EQ(Find("drivers").status, CheckStatus::kSkip);
  EXPECT_EQ(Find("hca_ports").status, CheckStatus::kSkip);
  EXPECT_EQ(Find("probe").status, CheckStatus::kSkip);
  EXPECT_TRUE(Healthy(results));
}

TEST_F(CheckTest, MissingDataDeviceFailsAndDriversExplainIt) {
  sink.Gauge("ibpath_datapath_expected_device_present", "", {{"device", "ib1"}}, 0);
  sink.Gauge("ibpath_datapath_expected_device", "", {{"device", "ib1"}, {"source", "alluxio-conf"}},
             1);
  sink.Gauge("ibpath_kernel_module_loaded", "", {{"module", "ib_core"}}, 0);
  sink.Gauge("ibpath_kernel_module_loaded", "", {{"module", "ib_ipoib"}}, 0);
  CheckResult d = Find("data_devices");
  EXPECT_EQ(d.status, CheckStatus::kFail);
  EXPECT_NE(d.detail.find("missing: ib1"), std::string::npos) << d.detail;
  EXPECT_NE(d.fix.find("ip addr show ib1"), std::string::npos) << d.fix;
  EXPECT_EQ(Find("drivers").status, CheckStatus::kFail);
}

TEST_F(CheckTest, DriversAbsentButDevicesPresentOnlyWarns) {
  sink.Gauge("ibpath_kernel_module_loaded", "", {{"module", "ib_core"}}, 0);
  sink.Gauge("ibpath_kernel_module_loaded", "", {{"module", "ib_ipoib"}}, 0);
  EXPECT_EQ(Find("drivers").status, CheckStatus::kWarn);
}

TEST_F(CheckTest, PortDownIsNamedRocePortIgnored) {
  sink.Gauge("ibpath_ib_port_active", "", {{"ca", "mlx5_0"}, {"port", "1"}}, 0);
  sink.Gauge("ibpath_ib_port_active", "", {{"ca", "mlx5_2"}, {"port", "1"}}, 0);
  sink.Gauge("ibpath_ib_port_info", "",
             {{"ca", "mlx5_0"},
              {"port", "1"},
              {"state", "DOWN"},
              {"phys_state", "Polling"},
              {"link_layer", "InfiniBand"},
              {"lid", "0"},
              {"sm_lid", "0"}},
             1);
  sink.Gauge("ibpath_ib_port_info", "",
             {{"ca", "mlx5_2"},
              {"port", "1"},
              {"state", "DOWN"},
              {"phys_state", "Disabled"},
              {"link_layer", "Ethernet"},
              {"lid", "0"},
              {"sm_lid", "0"}},
             1);
  CheckResult r = Find("hca_ports");
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.detail.find("mlx5_0 port 1 (DOWN, Polling)"), std::string::npos) << r.detail;
  EXPECT_EQ(r.detail.find("mlx5_2"), std::string::npos) << r.detail;
}

TEST_F(CheckTest, DatagramModeAtMaximumIsFineConnectedBelowWarns) {
  sink.Gauge("ibpath_ipoib_mode", "", {{"device", "ib0"}, {"mode", "connected"}}, 1);
  sink.Gauge("ibpath_ipoib_mtu_below_expected", "", {{"device", "ib0"}}, 1);
  sink.Gauge("ibpath_netdev_mtu_bytes", "", {{"device", "ib0"}}, 1500);
  CheckResult r = Find("ipoib_mtu");
  EXPECT_EQ(r.status, CheckStatus::kWarn);
  EXPECT_NE(r.detail.find("ib0 connected mtu 1500"), std::string::npos) << r.detail;
  EXPECT_NE(r.fix.find("ip link set ib0 mtu 9000"), std::string::npos) << r.fix;
}

TEST_F(CheckTest, WildcardListenerWarnsEthernetListenerFails) {
  sink.Gauge("ibpath_alluxio_listener_info", "",
             {{"role", "worker_data"},
              {"address", "0.0.0.0"},
              {"port", "29997"},
              {"device", "any"},
              {"on_data_device", "false"}},
             1);
  EXPECT_EQ(Find("listeners").status, CheckStatus::kWarn);

  MetricSink other;
  other.Gauge("ibpath_alluxio_port_info", "",
              {{"role", "worker_data"}, {"port", "29997"}, {"data_path", "true"}}, 1);
  other.Gauge("ibpath_alluxio_listener_info", "",
              {{"role", "worker_data"},
               {"address", "198.19.0.1"},
               {"port", "29997"},
               {"device", "eth0"},
               {"on_data_device", "false"}},
              1);
  auto r = EvaluateChecks(other.Take());
  auto it =
      std::find_if(r.begin(), r.end(), [](const CheckResult& c) { return c.name == "listeners"; });
  ASSERT_NE(it, r.end());
  EXPECT_EQ(it->status, CheckStatus::kFail);
}

TEST_F(CheckTest, HostnameOnEthernetFails) {
  sink.Gauge("ibpath_alluxio_advertised_address_info", "",
             {{"property", "alluxio.worker.hostname"},
              {"host", "w1"},
              {"address", "198.19.0.1"},
              {"device", "eth0"},
              {"on_data_device", "false"}},
             1);
  CheckResult r = Find("advertised_host");
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.detail.find("w1 -> 198.19.0.1 on eth0"), std::string::npos) << r.detail;
}

TEST_F(CheckTest, DegradedBondFails) {
  sink.Gauge("ibpath_bond_slaves", "", {{"bond", "bond0"}}, 2);
  sink.Gauge("ibpath_bond_active_slaves", "", {{"bond", "bond0"}}, 1);
  EXPECT_EQ(Find("bonds").status, CheckStatus::kFail);
}

TEST_F(CheckTest, JsonIsMachineReadable) {
  Connections("worker_data", "eth0", 1, 1);
  results = EvaluateChecks(sink.Take());
  auto doc = nlohmann::json::parse(FormatChecksJson(results));
  EXPECT_EQ(doc["healthy"], false);
  bool found = false;
  for (const auto& c : doc["checks"]) {
    if (c["name"] == "data_connections") {
      found = true;
      EXPECT_EQ(c["status"], "FAIL");
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace ibpath
