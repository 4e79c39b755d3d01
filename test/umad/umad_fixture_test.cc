// The real libibumad against fixture trees. Runs only under
// run_in_mount_ns.sh, which puts the fixture named by $IBPATH_FIXTURE at
// /sys/class/infiniband in a private mount namespace ("-": no such directory).
// libibumad and the sysfs reader must then tell the same story, except where
// libibumad itself cannot read a CA, which must come back as a failed CA
// while the others still come through.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/infiniband_collector.h"
#include "collectors/source/infiniband_sysfs.h"
#include "collectors/source/umad.h"

namespace ibpath {
namespace {

using ::testing::HasSubstr;

std::string FixtureRoot() {
  const char* f = std::getenv("IBPATH_FIXTURE");
  return f ? f : "";
}

std::string Scenario() {
  const std::string f = FixtureRoot();
  return f == "-" ? "-" : f.substr(f.find_last_of('/') + 1);
}

// CAs that libibumad cannot read in each scenario, and why that is right.
const std::map<std::string, std::set<std::string>> kUmadFails = {
    // No ports/ directory: umad_get_ca fails with ENOENT (the sysfs reader says zero ports).
    {"broken", {"mlx5_1"}},
};

class UmadFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(FixtureRoot().empty()) << "run me through test/umad/run_in_mount_ns.sh";
    // Make sure we really look at the fixture, not at a host's HCAs.
    struct stat st;
    const bool have_class = stat("/sys/class/infiniband", &st) == 0;
    ASSERT_EQ(have_class, FixtureRoot() != "-");
  }
};

TEST_F(UmadFixture, AgreesWithTheSysfsReader) {
  UmadReader umad;
  auto got = umad.Read();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  if (FixtureRoot() == "-") {
    // No /sys/class/infiniband: zero CAs and no problem, although
    // umad_get_cas_names would have returned its placeholder name.
    EXPECT_TRUE(got->cas.empty());
    EXPECT_TRUE(got->problems.empty());
    return;
  }
  auto want = SysfsReader(FixtureRoot()).ReadInfiniband();
  ASSERT_TRUE(want.ok());
  ASSERT_EQ(got->cas.size(), want->cas.size());
  std::set<std::string> failed;
  for (std::size_t i = 0; i < got->cas.size(); ++i) {
    IbCa w = want->cas[i];
    for (IbPort& p : w.ports) p.counters = IbPortCounters{};  // libibumad reads no counters
    const IbCa& g = got->cas[i];
    EXPECT_EQ(g.name, w.name);
    if (!g.error.empty()) {
      failed.insert(g.name);
      EXPECT_THAT(g.error, HasSubstr("umad_get_ca(" + g.name + ")"));
      continue;
    }
    EXPECT_EQ(g, w) << g.name;
  }
  auto it = kUmadFails.find(Scenario());
  EXPECT_EQ(failed, it == kUmadFails.end() ? std::set<std::string>{} : it->second);
  EXPECT_EQ(got->problems.size(), failed.size());
}

TEST_F(UmadFixture, ReadsAgainAndAgain) {
  // The agent reads every scrape: no state may leak between reads.
  UmadReader umad;
  auto first = umad.Read();
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 50; ++i) {
    auto again = umad.Read();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->cas, first->cas);
  }
}

TEST_F(UmadFixture, WithoutIbUmadTheCasStillComeThrough) {
  if (FixtureRoot() == "-") return;  // nothing to read either way
  // ib_umad not loaded: no infiniband_mad/abi_version.
  // The tmpfs is ours alone, so the file can go and come back.
  const std::string abi = "/sys/class/infiniband_mad/abi_version";
  std::string saved;
  {
    std::ifstream in(abi);
    ASSERT_TRUE(in.good());
    std::getline(in, saved);
  }
  ASSERT_EQ(std::remove(abi.c_str()), 0);
  UmadReader without;
  auto got = without.Read();
  auto again = without.Read();  // umad_init is not retried, but the problem stays visible
  std::ofstream(abi) << saved << "\n";
  ASSERT_TRUE(got.ok());
  // libibumad 44's umad_init no longer checks the ABI and succeeds; older ones fail,
  // which must show as a problem, never cost the CAs.
  EXPECT_EQ(again->problems, got->problems);
  UmadReader with;
  auto want = with.Read();
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(got->cas, want->cas);
  std::vector<std::string> besides_init;
  for (const std::string& p : got->problems) {
    if (p.find("umad_init failed") == std::string::npos) besides_init.push_back(p);
  }
  EXPECT_EQ(besides_init, want->problems);
}

TEST_F(UmadFixture, CollectorThroughLibibumad) {
  UmadReader umad;
  // What the agent does with --path.sysfs=/sys: ports from libibumad, counters from sysfs.
  InfinibandCollector c(SysfsReader("/sys"), &umad);
  MetricSink sink;
  Status s = c.Collect(sink);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, sink.Take());
  const std::string text = os.str();
  const std::string sc = Scenario();
  if (sc == "-") {
    EXPECT_THAT(text, HasSubstr("ibpath_read_problems{collector=\"infiniband\"} 0\n"));
    EXPECT_THAT(text, ::testing::Not(HasSubstr("ibpath_ib_ca_read_success{")));
  } else if (sc == "cx7_ndr_active") {
    EXPECT_THAT(text, HasSubstr("ibpath_ib_port_info{ca=\"mlx5_0\",port=\"1\",state=\"ACTIVE\","
                                "phys_state=\"LinkUp\",link_layer=\"InfiniBand\",lid=\"26\","
                                "sm_lid=\"1\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("ibpath_ib_port_rate_bytes_per_second{ca=\"mlx5_0\",port=\"1\"} "
                                "50000000000\n"));
    EXPECT_THAT(text, HasSubstr("ibpath_ib_port_transmit_bytes_total{ca=\"mlx5_0\",port=\"1\"} "
                                "7182493827156\n"));
  } else if (sc == "port_down_datagram") {
    EXPECT_THAT(text, HasSubstr("ibpath_ib_port_active{ca=\"mlx5_0\",port=\"1\"} 0\n"));
    EXPECT_THAT(text, HasSubstr("state=\"DOWN\",phys_state=\"Polling\""));
  } else if (sc == "roce") {
    EXPECT_THAT(text, HasSubstr("link_layer=\"Ethernet\""));
    EXPECT_THAT(text, HasSubstr("counter=\"rp_cnp_handled\"} 40\n"));
  } else if (sc == "bond_one_down") {
    EXPECT_THAT(text, HasSubstr("ibpath_ib_port_active{ca=\"mlx5_1\",port=\"1\"} 0\n"));
    EXPECT_THAT(text, HasSubstr("ibpath_ib_port_active{ca=\"mlx5_0\",port=\"1\"} 1\n"));
  } else if (sc == "broken") {
    EXPECT_THAT(text, HasSubstr("ibpath_ib_ca_read_success{ca=\"mlx5_1\"} 0\n"));
    EXPECT_THAT(text, HasSubstr("ibpath_ib_ca_read_success{ca=\"mlx5_0\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("ibpath_ib_ca_read_success{ca=\"mlx5_2\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("counter=\"port_xmit_data\"} 1\n"));  // saturated
  }
}

}  // namespace
}  // namespace ibpath
