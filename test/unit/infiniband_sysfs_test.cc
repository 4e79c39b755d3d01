// The sysfs reader: pure parsers table-driven, then whole fixture trees
// (test/fixtures/sysfs/<scenario>, modelled on ConnectX hosts) compared with
// the structs they must produce.
#include "collectors/source/infiniband_sysfs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace ibpath {
namespace {

std::string Fixture(const std::string& scenario) {
  return std::string(IBPATH_SOURCE_DIR) + "/test/fixtures/sysfs/" + scenario;
}

TEST(ParseSysfsUint, Table) {
  struct Case {
    std::string in;
    std::optional<uint64_t> want;
    Status::Code code = Status::Code::kOk;
  } cases[] = {
      {"0\n", 0},
      {"1846012345678\n", 1846012345678},
      {"0x1a\n", 26},
      {"0xFFFF", 65535},
      {"18446744073709551615", UINT64_MAX},
      {"18446744073709551616", std::nullopt, Status::Code::kInvalidData},
      {"N/A (no PMA)\n", std::nullopt, Status::Code::kUnavailable},
      {"N/A", std::nullopt, Status::Code::kUnavailable},
      {"", std::nullopt, Status::Code::kInvalidData},
      {"\n", std::nullopt, Status::Code::kInvalidData},
      {"garbage", std::nullopt, Status::Code::kInvalidData},
      {"12abc", std::nullopt, Status::Code::kInvalidData},
      {"-1", std::nullopt, Status::Code::kInvalidData},
      {"0x", std::nullopt, Status::Code::kInvalidData},
  };
  for (const Case& c : cases) {
    auto got = ParseSysfsUint(c.in);
    if (c.want) {
      ASSERT_TRUE(got.ok()) << c.in << ": " << got.status().ToString();
      EXPECT_EQ(*got, *c.want) << c.in;
    } else {
      ASSERT_FALSE(got.ok()) << c.in;
      EXPECT_EQ(got.status().code(), c.code) << c.in << ": " << got.status().ToString();
    }
  }
}

TEST(ParseIbStateFile, Table) {
  struct Case {
    std::string in;
    int want;  // -1: error
  } cases[] = {
      {"4: ACTIVE\n", 4}, {"1: DOWN", 1},   {"5: LinkUp\n", 5}, {"2: Polling", 2},
      {"7: Phy Test", 7}, {"4", 4},         {"", -1},           {"ACTIVE", -1},
      {"garbage", -1},    {": ACTIVE", -1}, {"-4: ACTIVE", -1},
  };
  for (const Case& c : cases) {
    auto got = ParseIbStateFile(c.in);
    if (c.want >= 0) {
      ASSERT_TRUE(got.ok()) << c.in;
      EXPECT_EQ(*got, c.want) << c.in;
    } else {
      EXPECT_FALSE(got.ok()) << c.in;
    }
  }
}

TEST(ParseIbRate, Table) {
  struct Case {
    std::string in;
    double want;  // < 0: error
  } cases[] = {
      {"400 Gb/sec (4X NDR)\n", 400},
      {"200 Gb/sec (4X HDR)", 200},
      {"2.5 Gb/sec (1X SDR)", 2.5},
      {"56 Gb/sec (4X FDR)", 56},
      {"10 Gb/sec", 10},
      {"", -1},
      {"fast", -1},
      {"200", -1},
      {"200 Mb/sec", -1},
  };
  for (const Case& c : cases) {
    auto got = ParseIbRate(c.in);
    if (c.want >= 0) {
      ASSERT_TRUE(got.ok()) << c.in;
      EXPECT_DOUBLE_EQ(*got, c.want) << c.in;
    } else {
      EXPECT_FALSE(got.ok()) << c.in;
    }
  }
}

TEST(ParseIpoibModeAndBondMode, Table) {
  EXPECT_EQ(*ParseIpoibMode("datagram\n"), IpoibMode::kDatagram);
  EXPECT_EQ(*ParseIpoibMode("connected"), IpoibMode::kConnected);
  EXPECT_FALSE(ParseIpoibMode("bogus").ok());
  EXPECT_FALSE(ParseIpoibMode("").ok());
  EXPECT_EQ(*ParseBondMode("active-backup 1\n"), "active-backup");
  EXPECT_EQ(*ParseBondMode("802.3ad 4"), "802.3ad");
  EXPECT_EQ(*ParseBondMode("balance-rr"), "balance-rr");
  EXPECT_FALSE(ParseBondMode("\n").ok());
}

TEST(StateNamesAndGuid, MatchTheKernelsSpelling) {
  EXPECT_EQ(IbPortStateName(4), "ACTIVE");
  EXPECT_EQ(IbPortStateName(1), "DOWN");
  EXPECT_EQ(IbPortStateName(99), "unknown");
  EXPECT_EQ(IbPhysStateName(5), "LinkUp");
  EXPECT_EQ(IbPhysStateName(2), "Polling");
  EXPECT_EQ(IbPhysStateName(0), "unknown");
  EXPECT_EQ(FormatGuid(0xb8599f0300d45e0cULL), "b859:9f03:00d4:5e0c");
  EXPECT_EQ(FormatGuid(1), "0000:0000:0000:0001");
}

const std::map<std::string, uint64_t> kMlx5Hw = {
    {"duplicate_request", 0},    {"implied_nak_seq_err", 0}, {"local_ack_timeout_err", 3},
    {"out_of_buffer", 17},       {"out_of_sequence", 0},     {"packet_seq_err", 0},
    {"rnr_nak_retry_err", 0},    {"rx_atomic_requests", 0},  {"rx_read_requests", 1024},
    {"rx_write_requests", 4096},
};

IbPortCounters Zeros() {
  IbPortCounters c;
  for (const IbCounterSpec& s : IbCounterSpecs()) c.*s.field = 0;
  return c;
}

TEST(SysfsReader, ConnectX7NdrActive) {
  SysfsReader r(Fixture("cx7_ndr_active"));
  auto ib = r.ReadInfiniband();
  ASSERT_TRUE(ib.ok()) << ib.status().ToString();
  EXPECT_EQ(ib->problems, std::vector<std::string>{});
  IbPort p;
  p.number = 1;
  p.state = 4;
  p.phys_state = 5;
  p.link_layer = "InfiniBand";
  p.rate_gbps = 400;
  p.lid = 26;
  p.sm_lid = 1;
  p.counters = Zeros();
  p.counters.receive_bytes = 1846012345678ULL * 4;  // words -> bytes
  p.counters.transmit_bytes = 1795623456789ULL * 4;
  p.counters.receive_packets = 4187654321;
  p.counters.transmit_packets = 4056789012;
  p.counters.symbol_errors = 2;
  p.counters.link_error_recoveries = 1;
  p.counters.hw = kMlx5Hw;  // without lifespan, a setting
  IbCa want{"mlx5_0", "28.39.1002", "MT4129", "b859:9f03:00d4:5e0c", {p}, ""};
  ASSERT_EQ(ib->cas.size(), 1u);
  EXPECT_EQ(ib->cas[0], want);
  EXPECT_TRUE(ib->cas[0].ports[0].active());

  auto ipoib = r.ReadIpoib();
  ASSERT_TRUE(ipoib.ok());
  EXPECT_EQ(ipoib->problems, std::vector<std::string>{});
  IpoibInterface want_if{"ibp12s0", IpoibMode::kConnected, 65520, "0xffff", false, "", "mlx5_0", 1};
  EXPECT_EQ(ipoib->interfaces, std::vector<IpoibInterface>{want_if});

  auto bonds = r.ReadBonds();
  ASSERT_TRUE(bonds.ok());
  EXPECT_TRUE(bonds->bonds.empty());
  for (const KernelModule& m : r.ReadModules(IbKernelModules())) EXPECT_TRUE(m.loaded) << m.name;
}

TEST(SysfsReader, PortDownDatagramWithChild) {
  SysfsReader r(Fixture("port_down_datagram"));
  auto ib = r.ReadInfiniband();
  ASSERT_TRUE(ib.ok());
  ASSERT_EQ(ib->cas.size(), 1u);
  ASSERT_EQ(ib->cas[0].ports.size(), 1u);
  const IbPort& p = ib->cas[0].ports[0];
  EXPECT_EQ(p.state, 1);
  EXPECT_EQ(p.phys_state, 2);
  EXPECT_FALSE(p.active());
  EXPECT_EQ(p.lid, 0xffffu);

  auto ipoib = r.ReadIpoib();
  ASSERT_TRUE(ipoib.ok());
  EXPECT_EQ(ipoib->problems, std::vector<std::string>{});
  std::vector<IpoibInterface> want = {
      {"ib0", IpoibMode::kDatagram, 2044, "0xffff", false, "", "mlx5_0", 1},
      {"ib0.8001", IpoibMode::kDatagram, 2044, "0x8001", false, "ib0", "mlx5_0", 1},
  };
  EXPECT_EQ(ipoib->interfaces, want);
  std::vector<KernelModule> mods = r.ReadModules(IbKernelModules());
  std::vector<KernelModule> want_mods = {{"ib_core", true},
                                         {"ib_ipoib", true},
                                         {"ib_umad", false},
                                         {"mlx5_core", true},
                                         {"mlx5_ib", true}};
  EXPECT_EQ(mods, want_mods);
}

TEST(SysfsReader, BondWithOneMemberDownAndRoce) {
  SysfsReader r(Fixture("bond_one_down"));
  auto bonds = r.ReadBonds();
  ASSERT_TRUE(bonds.ok());
  EXPECT_EQ(bonds->problems, std::vector<std::string>{});
  Bond want{"bond0",
            "active-backup",
            "up",
            "ib0",
            {{"ib0", "active", "up", 32}, {"ib1", "backup", "down", 32}},
            "infiniband"};
  EXPECT_EQ(bonds->bonds, std::vector<Bond>{want});

  // The bond has type 32 too, but is not an IPoIB interface; the RoCE netdev is Ethernet.
  auto ipoib = r.ReadIpoib();
  ASSERT_TRUE(ipoib.ok());
  std::vector<std::string> names;
  for (const auto& i : ipoib->interfaces) names.push_back(i.device);
  EXPECT_EQ(names, (std::vector<std::string>{"ib0", "ib0.8001", "ib1"}));
  EXPECT_EQ(ipoib->interfaces[2].ca, "mlx5_1");

  auto ib = r.ReadInfiniband();
  ASSERT_TRUE(ib.ok());
  ASSERT_EQ(ib->cas.size(), 3u);
  EXPECT_EQ(ib->cas[2].ports[0].link_layer, "Ethernet");
  EXPECT_TRUE(ib->cas[2].ports[0].active());
  // mlx5_1's symbol_error reads N/A: only that counter is lost.
  const IbPortCounters& c = ib->cas[1].ports[0].counters;
  EXPECT_FALSE(c.symbol_errors.has_value());
  EXPECT_EQ(c.link_downed, 3u);
  EXPECT_EQ(c.receive_bytes, 0u);
  EXPECT_EQ(ib->problems,
            std::vector<std::string>{"class/infiniband/mlx5_1/ports/1/counters/symbol_error: "
                                     "unavailable ('N/A (no PMA)')"});
}

TEST(SysfsReader, BrokenFilesCostOnlyThemselves) {
  SysfsReader r(Fixture("broken"));
  auto ib = r.ReadInfiniband();
  ASSERT_TRUE(ib.ok());
  ASSERT_EQ(ib->cas.size(), 3u);

  IbPort p0;
  p0.number = 1;
  p0.state = 4;
  p0.phys_state = 5;
  p0.link_layer = "InfiniBand";
  p0.rate_gbps = 100;
  p0.lid = 26;
  p0.sm_lid = 1;
  p0.counters = Zeros();
  p0.counters.receive_bytes = 98765432101ULL * 4;    // counters_ext/port_rcv_data_64 preferred
  p0.counters.transmit_bytes = 4294967295ULL * 4;    // 32-bit, stuck at its maximum
  p0.counters.transmit_packets = 5000000000ULL;      // counters_ext
  p0.counters.symbol_errors.reset();                 // N/A (no PMA)
  p0.counters.receive_errors.reset();                // empty file
  p0.counters.link_downed.reset();                   // garbage
  p0.counters.excessive_buffer_overrun_errors = 15;  // 4-bit, saturated
  p0.counters.saturated = {"port_xmit_data", "excessive_buffer_overrun_errors"};
  p0.counters.hw = {{"rx_write_requests", 77}};
  IbCa want0{"mlx5_0", "12.28.2006", "MT4115", "b859:9f03:00d4:5e0c", {p0}, ""};
  EXPECT_EQ(ib->cas[0], want0);

  IbCa want1{"mlx5_1", "28.39.1002", "MT4129", "b859:9f03:00d4:5e0d", {}, ""};
  EXPECT_EQ(ib->cas[1], want1);  // a CA without ports is a CA with zero ports

  const IbCa& c2 = ib->cas[2];
  EXPECT_EQ(c2.fw_ver, "");
  ASSERT_EQ(c2.ports.size(), 1u);
  EXPECT_EQ(c2.ports[0].state, 0);
  EXPECT_EQ(c2.ports[0].phys_state, 0);
  EXPECT_FALSE(c2.ports[0].rate_gbps.has_value());
  EXPECT_EQ(c2.ports[0].lid, 3u);

  const std::string p = "class/infiniband/";
  std::vector<std::string> want_problems = {
      p + "mlx5_0/ports/1/counters/symbol_error: unavailable ('N/A (no PMA)')",
      p + "mlx5_0/ports/1/counters/link_downed: 'garbage' is not a number",
      p + "mlx5_0/ports/1/counters/port_rcv_errors: empty",
      p + "mlx5_0/ports/1/hw_counters/out_of_buffer: unavailable ('N/A')",
      p + "mlx5_2/ports/1/state: 'garbage' is not a port state (want e.g. 4: ACTIVE)",
      p + "mlx5_2/ports/1/phys_state: '' is not a port state (want e.g. 4: ACTIVE)",
      p + "mlx5_2/ports/1/rate: 'fast' is not a rate (want e.g. 200 Gb/sec)",
  };
  EXPECT_EQ(ib->problems, want_problems);

  auto ipoib = r.ReadIpoib();
  ASSERT_TRUE(ipoib.ok());
  std::vector<IpoibInterface> want_if = {
      {"ib0", IpoibMode::kUnknown, std::nullopt, "", false, "", "mlx5_0", 1},
      {"net1", IpoibMode::kDatagram, 2044, "0xffff", false, "", "mlx5_2", 1},  // via dev_id
  };
  EXPECT_EQ(ipoib->interfaces, want_if);
  std::vector<std::string> want_ipoib_problems = {
      "class/net/ib0/mode: 'bogus' is not an IPoIB mode",
      "class/net/ib0/mtu: empty",
      "class/net/ib0/pkey: 'zz' is not a number",
  };
  EXPECT_EQ(ipoib->problems, want_ipoib_problems);
}

TEST(SysfsReader, AbsentTreesAreZeroDevicesNotErrors) {
  SysfsReader r(Fixture("does-not-exist"));
  auto ib = r.ReadInfiniband();
  ASSERT_TRUE(ib.ok());
  EXPECT_TRUE(ib->cas.empty());
  EXPECT_TRUE(ib->problems.empty());
  auto ipoib = r.ReadIpoib();
  ASSERT_TRUE(ipoib.ok());
  EXPECT_TRUE(ipoib->interfaces.empty());
  auto bonds = r.ReadBonds();
  ASSERT_TRUE(bonds.ok());
  EXPECT_TRUE(bonds->bonds.empty());
  for (const KernelModule& m : r.ReadModules(IbKernelModules())) EXPECT_FALSE(m.loaded);
}

TEST(SysfsReader, ClassPathThatIsNotADirectoryFails) {
  // Absent is "no HCA"; present but unlistable is an error the collector reports.
  char tmpl[] = "/tmp/ibpath-sysfs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  ASSERT_EQ(mkdir((root + "/class").c_str(), 0755), 0);
  std::FILE* f = std::fopen((root + "/class/infiniband").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  auto ib = SysfsReader(root).ReadInfiniband();
  EXPECT_FALSE(ib.ok());
  EXPECT_NE(ib.status().message().find("class/infiniband"), std::string::npos)
      << ib.status().ToString();
  std::remove((root + "/class/infiniband").c_str());
  rmdir((root + "/class").c_str());
  rmdir(root.c_str());
}

}  // namespace
}  // namespace ibpath
