#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/collector_registry.h"
#include "agent/flags.h"
#include "agent/http_server.h"

namespace ibpath {
namespace {

TEST(Flags, Defaults) {
  auto f = ParseFlags({});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->web_listen_address, ":9879");
  EXPECT_EQ(f->web_telemetry_path, "/metrics");
  EXPECT_EQ(f->path_sysfs, "/sys");
  EXPECT_EQ(f->path_procfs, "/proc");
  EXPECT_TRUE(f->datapath_devices.empty());
  EXPECT_EQ(f->log_level, "info");
}

TEST(Flags, BothSpellingsAndLists) {
  auto f = ParseFlags({"--web.listen-address=127.0.0.1:1234", "--datapath.devices", "ib0, ib1,",
                       "--log.level=debug", "--alluxio.conf=/etc/a.properties",
                       "--scrape.min-interval=250ms"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->web_listen_address, "127.0.0.1:1234");
  EXPECT_EQ(f->datapath_devices, (std::vector<std::string>{"ib0", "ib1"}));
  EXPECT_EQ(f->log_level, "debug");
  EXPECT_EQ(f->alluxio_conf, "/etc/a.properties");
  EXPECT_EQ(f->scrape_min_interval.count(), 250);
}

TEST(Flags, ErrorsNameTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  } cases[] = {
      {{"--nope"}, "unknown flag --nope"},
      {{"--log.level=loud"}, "--log.level='loud'"},
      {{"--web.listen-address=9879"}, "needs a port"},
      {{"--datapath.devices="}, "at least one device"},
      {{"--alluxio.conf"}, "needs a value"},
      {{"--version=yes"}, "takes no value"},
      {{"stray"}, "unexpected argument 'stray'"},
      {{"--scrape.min-interval=fast"}, "not a duration"},
      {{"--web.telemetry-path=metrics"}, "must start with /"},
  };
  for (const Case& c : cases) {
    auto f = ParseFlags(c.args);
    ASSERT_FALSE(f.ok()) << c.args[0];
    EXPECT_NE(f.status().message().find(c.want), std::string::npos) << f.status().message();
  }
}

TEST(Flags, HelpListsEveryFlag) {
  const std::string help = FlagsHelp();
  for (const char* name :
       {"--web.listen-address", "--web.telemetry-path", "--path.sysfs", "--path.procfs",
        "--alluxio.conf", "--datapath.devices", "--log.level", "--version", "--help"}) {
    EXPECT_NE(help.find(name), std::string::npos) << name;
  }
}

TEST(Flags, IpoibExpectedMtu) {
  EXPECT_FALSE(ParseFlags({})->ipoib_expected_mtu.has_value());
  auto f = ParseFlags({"--ipoib.expected-mtu=4092"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->ipoib_expected_mtu, 4092u);
  for (const char* bad : {"--ipoib.expected-mtu=jumbo", "--ipoib.expected-mtu=0",
                          "--ipoib.expected-mtu=70000", "--ipoib.expected-mtu=9000x"}) {
    auto b = ParseFlags({bad});
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find("--ipoib.expected-mtu"), std::string::npos)
        << b.status().message();
  }
  EXPECT_NE(FlagsHelp().find("--ipoib.expected-mtu"), std::string::npos);
}

TEST(CivetListeningPorts, GoStyleAddresses) {
  EXPECT_EQ(*CivetListeningPorts(":9879", true), "+9879");
  EXPECT_EQ(*CivetListeningPorts(":9879", false), "9879");
  EXPECT_EQ(*CivetListeningPorts("127.0.0.1:9879", true), "127.0.0.1:9879");
  EXPECT_EQ(*CivetListeningPorts("[::1]:9879", true), "[::1]:9879");
  EXPECT_FALSE(CivetListeningPorts("[::1]:9879", false).ok());
  EXPECT_FALSE(CivetListeningPorts("localhost:", true).ok());
  EXPECT_FALSE(CivetListeningPorts("localhost:http", true).ok());
}

class FixedCollector : public Collector {
 public:
  FixedCollector(bool fail, bool throws) : fail_(fail), throws_(throws) {}
  Status Collect(MetricSink& out) override {
    ++calls;
    if (throws_) throw std::runtime_error("boom");
    out.Gauge("ibpath_test_value", "A test value.", {{"k", "v"}}, 3);
    return fail_ ? Status::IoError("reading /nowhere: broken") : Status::Ok();
  }
  std::atomic<int> calls{0};

 private:
  bool fail_, throws_;
};

std::string Serialize(const std::vector<prometheus::MetricFamily>& f) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, f);
  return os.str();
}

TEST(CollectorRegistry, FailingAndThrowingCollectorsDoNotFailTheScrape) {
  FixedCollector good(false, false), partial(true, false), thrower(false, true);
  CollectorRegistry reg(std::chrono::milliseconds(0), "1.2.3");
  reg.Register("good", &good);
  reg.Register("partial", &partial);
  reg.Register("thrower", &thrower);
  const std::string text = Serialize(reg.Collect());
  EXPECT_NE(text.find("ibpath_collector_success{collector=\"good\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("ibpath_collector_success{collector=\"partial\"} 0"), std::string::npos);
  EXPECT_NE(text.find("ibpath_collector_success{collector=\"thrower\"} 0"), std::string::npos);
  // Partial results are results: the failing collector's sample is there (twice: good+partial).
  EXPECT_NE(text.find("ibpath_test_value{k=\"v\"} 3"), std::string::npos);
  EXPECT_NE(text.find("ibpath_build_info{version=\"1.2.3\"} 1"), std::string::npos);
}

TEST(CollectorRegistry, ConcurrentScrapesShareOneCollection) {
  FixedCollector c(false, false);
  CollectorRegistry reg(std::chrono::milliseconds(60000), "x");
  reg.Register("c", &c);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) threads.emplace_back([&] { reg.Collect(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.calls.load(), 1);
  EXPECT_EQ(reg.collections(), 1u);
}

TEST(CollectorRegistry, ZeroIntervalCollectsEveryTime) {
  FixedCollector c(false, false);
  CollectorRegistry reg(std::chrono::milliseconds(0), "x");
  reg.Register("c", &c);
  reg.Collect();
  reg.Collect();
  EXPECT_EQ(c.calls.load(), 2);
}

TEST(MetricSink, TypeConflictIsDroppedNotEmitted) {
  MetricSink sink;
  sink.Gauge("ibpath_x", "h", {}, 1);
  sink.Counter("ibpath_x", "h", {}, 2);
  EXPECT_EQ(sink.dropped_samples(), 1u);
  auto fams = sink.Take();
  ASSERT_EQ(fams.size(), 1u);
  EXPECT_EQ(fams[0].metric.size(), 1u);
}

// The exposition of a fixed set of samples, byte for byte: catches changes
// in naming, HELP text, label order and escaping.
TEST(Exposition, MatchesGoldenFile) {
  MetricSink sink;
  sink.Counter(
      "ibpath_alluxio_bytes_total", "Bytes.",
      {{"role", "worker_data"}, {"side", "server"}, {"device", "ib0"}, {"direction", "transmit"}},
      1048576);
  sink.Gauge("ibpath_alluxio_connections", "Connections.",
             {{"role", "worker_data"}, {"side", "server"}, {"device", "ib0"}}, 3);
  sink.Gauge("ibpath_netdev_info", "Interfaces.",
             {{"device", "ib0"},
              {"transport", "infiniband"},
              {"kind", ""},
              {"operstate", "up"},
              {"master", "bond\"0\\"}},
             1);
  sink.Declare("ibpath_alluxio_listener_info", "Listeners.", prometheus::MetricType::Gauge);
  const std::string text = Serialize(sink.Take());
  std::ifstream golden(std::string(IBPATH_SOURCE_DIR) + "/test/golden/exposition.prom");
  ASSERT_TRUE(golden.good());
  std::stringstream want;
  want << golden.rdbuf();
  EXPECT_EQ(text, want.str());
}

}  // namespace
}  // namespace ibpath
