// The InfiniBand, IPoIB, bond and kernel-module collectors over fixture
// trees: the exposition lines an operator and an alert rule would see.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <string>

#include "collectors/bond_collector.h"
#include "collectors/infiniband_collector.h"
#include "collectors/ipoib_collector.h"
#include "collectors/kernel_module_collector.h"

namespace ibpath {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Fixture(const std::string& scenario) {
  return std::string(IBPATH_SOURCE_DIR) + "/test/fixtures/sysfs/" + scenario;
}

std::string Scrape(Collector& c, Status* status = nullptr) {
  MetricSink sink;
  Status s = c.Collect(sink);
  if (status != nullptr) *status = s;
  EXPECT_EQ(sink.dropped_samples(), 0u);
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, sink.Take());
  return os.str();
}

TEST(InfinibandCollector, ActiveNdrPortFromSysfs) {
  InfinibandCollector c(SysfsReader(Fixture("cx7_ndr_active")), nullptr);
  Status s;
  const std::string text = Scrape(c, &s);
  EXPECT_TRUE(s.ok()) << s.ToString();
  for (const char* line : {
           "ibpath_ib_ca_info{ca=\"mlx5_0\",fw_ver=\"28.39.1002\",hca_type=\"MT4129\","
           "node_guid=\"b859:9f03:00d4:5e0c\"} 1\n",
           "ibpath_ib_ca_read_success{ca=\"mlx5_0\"} 1\n",
           "ibpath_ib_port_active{ca=\"mlx5_0\",port=\"1\"} 1\n",
           "ibpath_ib_port_info{ca=\"mlx5_0\",port=\"1\",state=\"ACTIVE\",phys_state=\"LinkUp\","
           "link_layer=\"InfiniBand\",lid=\"26\",sm_lid=\"1\"} 1\n",
           "ibpath_ib_port_rate_bytes_per_second{ca=\"mlx5_0\",port=\"1\"} 50000000000\n",
           "ibpath_ib_port_receive_bytes_total{ca=\"mlx5_0\",port=\"1\"} 7384049382712\n",
           "ibpath_ib_port_symbol_errors_total{ca=\"mlx5_0\",port=\"1\"} 2\n",
           "ibpath_ib_port_hw_events_total{ca=\"mlx5_0\",port=\"1\",counter=\"out_of_buffer\"} "
           "17\n",
           "ibpath_read_problems{collector=\"infiniband\"} 0\n",
       }) {
    EXPECT_THAT(text, HasSubstr(line));
  }
  EXPECT_THAT(text, Not(HasSubstr("lifespan")));
  EXPECT_THAT(text, Not(HasSubstr("ibpath_ib_port_saturated{")));
}

TEST(InfinibandCollector, DownPortAndRoce) {
  InfinibandCollector c(SysfsReader(Fixture("bond_one_down")), nullptr);
  const std::string text = Scrape(c);
  EXPECT_THAT(text, HasSubstr("ibpath_ib_port_active{ca=\"mlx5_1\",port=\"1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_ib_port_info{ca=\"mlx5_1\",port=\"1\",state=\"DOWN\","
                              "phys_state=\"Disabled\",link_layer=\"InfiniBand\",lid=\"65535\","
                              "sm_lid=\"0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_ib_port_info{ca=\"mlx5_2\",port=\"1\",state=\"ACTIVE\","
                              "phys_state=\"LinkUp\",link_layer=\"Ethernet\""));
  // N/A costs that one counter, and is counted as a problem.
  EXPECT_THAT(text, Not(HasSubstr("ibpath_ib_port_symbol_errors_total{ca=\"mlx5_1\"")));
  EXPECT_THAT(text, HasSubstr("ibpath_ib_port_link_downed_total{ca=\"mlx5_1\",port=\"1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_read_problems{collector=\"infiniband\"} 1\n"));
}

TEST(InfinibandCollector, SaturatedAndBrokenCounters) {
  InfinibandCollector c(SysfsReader(Fixture("broken")), nullptr);
  Status s;
  const std::string text = Scrape(c, &s);
  EXPECT_TRUE(s.ok()) << "partial results are results: " << s.ToString();
  EXPECT_THAT(text, HasSubstr("ibpath_ib_port_saturated{ca=\"mlx5_0\",port=\"1\","
                              "counter=\"port_xmit_data\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_read_problems{collector=\"infiniband\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_ib_ca_info{ca=\"mlx5_1\""));
}

TEST(InfinibandCollector, NoHcaIsZeroDevicesAndSuccess) {
  InfinibandCollector c(SysfsReader(Fixture("does-not-exist")), nullptr);
  Status s;
  const std::string text = Scrape(c, &s);
  EXPECT_TRUE(s.ok());
  EXPECT_THAT(text, HasSubstr("# TYPE ibpath_ib_port_active gauge\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE ibpath_ib_port_receive_bytes_total counter\n"));
  EXPECT_THAT(text, Not(HasSubstr("ibpath_ib_port_active{")));
  EXPECT_THAT(text, HasSubstr("ibpath_read_problems{collector=\"infiniband\"} 0\n"));
}

TEST(InfinibandCollector, FailedCaIsReportedAndOthersComeThrough) {
  IbReading r;
  IbCa bad;
  bad.name = "mlx5_1";
  bad.error = "umad_get_ca(mlx5_1) failed: Input/output error";
  IbCa good{"mlx5_0", "28.39.1002", "MT4129", "b859:9f03:00d4:5e0c", {}, ""};
  IbPort p;
  p.number = 1;
  p.state = 4;
  p.phys_state = 5;
  p.link_layer = "InfiniBand";
  good.ports.push_back(p);
  r.cas = {good, bad};
  r.problems = {bad.error};
  MetricSink sink;
  InfinibandCollector::Export(r, sink);
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, sink.Take());
  const std::string text = os.str();
  EXPECT_THAT(text, HasSubstr("ibpath_ib_ca_read_success{ca=\"mlx5_1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_ib_ca_read_success{ca=\"mlx5_0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_ib_port_active{ca=\"mlx5_0\",port=\"1\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("ibpath_ib_ca_info{ca=\"mlx5_1\"")));
  EXPECT_THAT(text, HasSubstr("ibpath_read_problems{collector=\"infiniband\"} 1\n"));
}

TEST(IpoibMtu, ExpectedDependsOnMode) {
  struct Case {
    IpoibMode mode;
    std::optional<uint32_t> flag;
    uint32_t max, expected;
  } cases[] = {
      {IpoibMode::kConnected, std::nullopt, 65520, 9000},
      {IpoibMode::kDatagram, std::nullopt, 2044, 2044},
      {IpoibMode::kConnected, 4000, 65520, 4000},
      {IpoibMode::kConnected, 65520, 65520, 65520},
      {IpoibMode::kConnected, 70000, 65520, 65520},
      // The seed: datagram at 2044 is correct, a 9000 wish cannot apply there.
      {IpoibMode::kDatagram, 9000, 2044, 2044},
      {IpoibMode::kDatagram, 1500, 2044, 1500},
      {IpoibMode::kUnknown, std::nullopt, 0, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IpoibMaxMtu(c.mode), c.max);
    EXPECT_EQ(IpoibExpectedMtu(c.mode, c.flag), c.expected)
        << IpoibModeName(c.mode) << " " << c.flag.value_or(0);
  }
}

TEST(IpoibCollector, ModesAndMtuVerdicts) {
  struct Case {
    std::string scenario, device;
    std::optional<uint32_t> flag;
    std::string mode, mtu, max, below;
  } cases[] = {
      {"cx7_ndr_active", "ibp12s0", std::nullopt, "connected", "65520", "65520", "0"},
      {"connected_1500", "ibs22", std::nullopt, "connected", "1500", "65520", "1"},
      {"connected_1500", "ibs22", 1500, "connected", "1500", "65520", "0"},
      {"port_down_datagram", "ib0", std::nullopt, "datagram", "2044", "2044", "0"},
      {"port_down_datagram", "ib0.8001", 9000, "datagram", "2044", "2044", "0"},
  };
  for (const Case& c : cases) {
    IpoibCollector col(SysfsReader(Fixture(c.scenario)), c.flag);
    Status s;
    const std::string text = Scrape(col, &s);
    EXPECT_TRUE(s.ok());
    const std::string dev = "{device=\"" + c.device + "\"}";
    EXPECT_THAT(text, HasSubstr("ibpath_ipoib_mode{device=\"" + c.device + "\",mode=\"" + c.mode +
                                "\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("ibpath_ipoib_mtu_bytes" + dev + " " + c.mtu + "\n"));
    EXPECT_THAT(text, HasSubstr("ibpath_ipoib_mtu_max_bytes" + dev + " " + c.max + "\n"));
    EXPECT_THAT(text, HasSubstr("ibpath_ipoib_mtu_below_expected" + dev + " " + c.below + "\n"))
        << c.scenario << " " << c.device;
  }
}

TEST(IpoibCollector, InfoJoinsTheHcaPort) {
  IpoibCollector c(SysfsReader(Fixture("port_down_datagram")), std::nullopt);
  const std::string text = Scrape(c);
  EXPECT_THAT(text, HasSubstr("ibpath_ipoib_info{device=\"ib0.8001\",pkey=\"0x8001\",umcast=\"0\","
                              "ca=\"mlx5_0\",port=\"1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_read_problems{collector=\"ipoib\"} 0\n"));
}

TEST(IpoibCollector, UnknownModeGetsNoVerdict) {
  IpoibCollector c(SysfsReader(Fixture("broken")), std::nullopt);
  const std::string text = Scrape(c);
  EXPECT_THAT(text, HasSubstr("ibpath_ipoib_mode{device=\"ib0\",mode=\"unknown\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("ibpath_ipoib_mtu_below_expected{device=\"ib0\"}")));
  EXPECT_THAT(text, HasSubstr("ibpath_ipoib_mtu_below_expected{device=\"net1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_read_problems{collector=\"ipoib\"} 3\n"));
}

TEST(BondCollector, TwoPortIpoibBondWithOneMemberDown) {
  BondCollector c(SysfsReader(Fixture("bond_one_down")));
  const std::string text = Scrape(c);
  for (const char* line : {
           "ibpath_bond_info{bond=\"bond0\",mode=\"active-backup\",transport=\"infiniband\"} 1\n",
           "ibpath_bond_up{bond=\"bond0\"} 1\n",
           "ibpath_bond_slaves{bond=\"bond0\"} 2\n",
           "ibpath_bond_active_slaves{bond=\"bond0\"} 1\n",
           "ibpath_bond_slave_up{bond=\"bond0\",slave=\"ib1\"} 0\n",
           "ibpath_bond_slave_state{bond=\"bond0\",slave=\"ib0\",state=\"active\"} 1\n",
           "ibpath_bond_slave_state{bond=\"bond0\",slave=\"ib1\",state=\"backup\"} 1\n",
           "ibpath_read_problems{collector=\"bond\"} 0\n",
       }) {
    EXPECT_THAT(text, HasSubstr(line));
  }
}

TEST(KernelModuleCollector, LoadedAndMissingDrivers) {
  KernelModuleCollector c(SysfsReader(Fixture("port_down_datagram")));
  const std::string text = Scrape(c);
  EXPECT_THAT(text, HasSubstr("ibpath_kernel_module_loaded{module=\"ib_umad\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_kernel_module_loaded{module=\"ib_ipoib\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ibpath_kernel_module_loaded{module=\"mlx5_core\"} 1\n"));
}

}  // namespace
}  // namespace ibpath
