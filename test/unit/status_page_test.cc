#include "agent/status_page.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/check.h"
#include "collectors/metric_sink.h"

namespace ibpath {
namespace {

// A worker node as the collectors describe it: data port on ib0 (expected
// from the Alluxio configuration), an HCA port, IPoIB in connected mode.
class StatusPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    info.version = "1.2.3";
    info.hostname = "worker-1";
    info.telemetry_path = "/metrics";
    info.endpoints = {{"/probe", "on-demand data-path probe"}};
    info.now = 1700000000;
    sink.Gauge("ibpath_datapath_expected_device", "",
               {{"device", "ib0"}, {"source", "alluxio-conf"}}, 1);
    sink.Gauge("ibpath_datapath_expected_device_present", "", {{"device", "ib0"}}, 1);
    sink.Gauge("ibpath_alluxio_port_info", "",
               {{"role", "worker_data"}, {"port", "29997"}, {"data_path", "true"}}, 1);
    Netdev("ib0");
    Netdev("eth0");
    sink.Gauge("ibpath_ipoib_mode", "", {{"device", "ib0"}, {"mode", "connected"}}, 1);
    sink.Gauge("ibpath_ipoib_mtu_bytes", "", {{"device", "ib0"}}, 9000);
    sink.Gauge("ibpath_ipoib_mtu_max_bytes", "", {{"device", "ib0"}}, 65520);
    sink.Gauge("ibpath_ipoib_mtu_expected_bytes", "", {{"device", "ib0"}}, 9000);
    sink.Gauge("ibpath_ipoib_mtu_below_expected", "", {{"device", "ib0"}}, 0);
    sink.Gauge("ibpath_ib_port_info", "",
               {{"ca", "mlx5_0"},
                {"port", "1"},
                {"state", "ACTIVE"},
                {"phys_state", "LinkUp"},
                {"link_layer", "InfiniBand"},
                {"lid", "26"},
                {"sm_lid", "1"}},
               1);
    sink.Gauge("ibpath_ib_port_active", "", {{"ca", "mlx5_0"}, {"port", "1"}}, 1);
    sink.Gauge("ibpath_ib_port_rate_bytes_per_second", "", {{"ca", "mlx5_0"}, {"port", "1"}}, 5e10);
    sink.Gauge("ibpath_alluxio_listener_info", "",
               {{"role", "worker_data"},
                {"address", "198.18.0.1"},
                {"port", "29997"},
                {"device", "ib0"},
                {"on_data_device", "true"}},
               1);
    sink.Gauge("ibpath_collector_success", "", {{"collector", "netdev"}}, 1);
  }
  void Netdev(const std::string& dev) {
    sink.Gauge("ibpath_netdev_info", "",
               {{"device", dev},
                {"transport", "ethernet"},
                {"kind", "veth"},
                {"operstate", "up"},
                {"master", ""}},
               1);
  }
  void Connections(const std::string& dev, double n, double fallback) {
    sink.Gauge("ibpath_alluxio_connections", "",
               {{"role", "worker_data"}, {"side", "server"}, {"device", dev}}, n);
    sink.Gauge("ibpath_alluxio_fallback_connections", "", {}, fallback);
    sink.Counter(
        "ibpath_alluxio_bytes_total", "",
        {{"role", "worker_data"}, {"side", "server"}, {"device", dev}, {"direction", "transmit"}},
        32 << 20);
  }
  std::string Render() {
    families = sink.Take();
    return RenderStatusPage(families, info);
  }
  // "<class>: <headline>" of the verdict box, "" when there is none.
  static std::string Verdict(const std::string& page) {
    const std::string open = "<div id=\"verdict\" class=\"verdict ";
    const std::string head = "<div class=\"head\">";
    const auto a = page.find(open);
    if (a == std::string::npos) return "";
    const auto cls_end = page.find('"', a + open.size());
    const auto h = page.find(head, cls_end);
    if (cls_end == std::string::npos || h == std::string::npos) return "";
    const auto h_end = page.find("</div>", h);
    return page.substr(a + open.size(), cls_end - a - open.size()) + ": " +
           page.substr(h + head.size(), h_end - h - head.size());
  }
  // The values of every href="..." and src="..." attribute.
  static std::vector<std::string> Links(const std::string& page) {
    std::vector<std::string> out;
    for (const std::string attr : {" href=\"", " src=\""}) {
      for (auto p = page.find(attr); p != std::string::npos; p = page.find(attr, p + 1)) {
        const auto start = p + attr.size();
        out.push_back(page.substr(start, page.find('"', start) - start));
      }
    }
    return out;
  }

  MetricSink sink;
  StatusPageInfo info;
  std::vector<prometheus::MetricFamily> families;
};

TEST_F(StatusPageTest, HealthyShowsOnFabricAndTheTables) {
  Connections("ib0", 3, 0);
  const std::string page = Render();
  EXPECT_EQ(Verdict(page), "fabric: Data path on fabric") << page;
  EXPECT_EQ(JudgeDataPath(EvaluateChecks(families)), DataPathVerdict::kOnFabric);
  EXPECT_NE(page.find("<meta http-equiv=\"refresh\" content=\"10\">"), std::string::npos);
  EXPECT_NE(page.find("ibpath-agent on worker-1"), std::string::npos);
  EXPECT_NE(page.find("<td>ib0</td><td>alluxio-conf</td>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>ib0</td><td>connected</td><td>9000</td><td>65520</td>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<td>mlx5_0</td>"), std::string::npos);
  EXPECT_NE(page.find("400 Gb/s"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>198.18.0.1</td><td>29997</td><td>ib0</td>"), std::string::npos);
  EXPECT_NE(page.find("32.0 MiB"), std::string::npos);
  EXPECT_NE(page.find("no probe configured"), std::string::npos);
  EXPECT_NE(page.find("checklist: healthy"), std::string::npos);
  EXPECT_NE(page.find("none: every collector read what it tried to"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"/metrics\">/metrics</a>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"/healthz\">/healthz</a>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"/probe\">/probe</a>: on-demand data-path probe"),
            std::string::npos);
}

TEST_F(StatusPageTest, FallbackNamesTheDeviceAndTheFix) {
  Connections("eth0", 1, 1);
  sink.Gauge("ibpath_collector_success", "", {{"collector", "ipoib"}}, 0);
  const std::string page = Render();
  EXPECT_EQ(Verdict(page), "fallback: FALLBACK: Alluxio data off the fabric") << page;
  EXPECT_NE(page.find("1 of 1 data connection(s) leave on eth0 instead of ib0"), std::string::npos)
      << page;
  EXPECT_NE(page.find("fix: verify alluxio.worker.data.bind.device=ib0"), std::string::npos);
  EXPECT_NE(page.find("checklist: UNHEALTHY"), std::string::npos);
  EXPECT_NE(page.find("<td>collector ipoib</td><td class=\"fail\">failed</td>"), std::string::npos);
}

TEST_F(StatusPageTest, ProbeOffTheFabricIsFallback) {
  sink.Gauge("ibpath_probe_success", "", {}, 0);
  sink.Gauge("ibpath_probe_on_data_device", "", {}, 0);
  sink.Gauge("ibpath_probe_failure_info", "", {{"reason", "route_not_data_device"}}, 1);
  sink.Gauge("ibpath_probe_device_info", "", {{"device", "eth0"}, {"transport", "ethernet"}}, 1);
  sink.Gauge("ibpath_probe_last_run_timestamp_seconds", "", {}, 1699999990);
  const std::string page = Render();
  EXPECT_EQ(Verdict(page), "fallback: FALLBACK: Alluxio data off the fabric") << page;
  EXPECT_NE(page.find("route_not_data_device"), std::string::npos);
  EXPECT_NE(page.find("2023-11-14 22:13:10 UTC (10 s ago)"), std::string::npos) << page;
}

TEST_F(StatusPageTest, NoConnectionsIsUnknown) {
  const std::string page = Render();
  EXPECT_EQ(Verdict(page), "unknown: Data path unknown") << page;
  // A probe that failed to connect cannot tell either.
  SetUp();
  sink.Gauge("ibpath_probe_success", "", {}, 0);
  sink.Gauge("ibpath_probe_failure_info", "", {{"reason", "connect"}}, 1);
  EXPECT_EQ(Verdict(Render()), "unknown: Data path unknown");
  // A probe over the fabric proves the path without connections.
  SetUp();
  sink.Gauge("ibpath_probe_success", "", {}, 1);
  sink.Gauge("ibpath_probe_on_data_device", "", {}, 1);
  EXPECT_EQ(Verdict(Render()), "fabric: Data path on fabric");
}

TEST_F(StatusPageTest, EmptyCollectionIsUnknownAndStillAPage) {
  const std::string page = RenderStatusPage({}, info);
  EXPECT_EQ(Verdict(page), "unknown: Data path unknown");
  EXPECT_NE(page.find("</html>"), std::string::npos);
}

TEST_F(StatusPageTest, FallbackInAPodNamespaceIsFallback) {
  // The host has no fallback, the pod does: every namespace counts.
  sink.Gauge("ibpath_alluxio_connections", "",
             {{"netns", "host"}, {"role", "worker_data"}, {"side", "server"}, {"device", "ib0"}},
             1);
  sink.Gauge("ibpath_alluxio_fallback_connections", "", {{"netns", "host"}}, 0);
  sink.Gauge("ibpath_alluxio_connections", "",
             {{"netns", "inode:42"},
              {"pod", "worker-0"},
              {"k8s_namespace", "alluxio"},
              {"role", "worker_data"},
              {"side", "server"},
              {"device", "eth0"}},
             1);
  sink.Gauge("ibpath_alluxio_fallback_connections", "",
             {{"netns", "inode:42"}, {"pod", "worker-0"}, {"k8s_namespace", "alluxio"}}, 1);
  const std::string page = Render();
  EXPECT_EQ(Verdict(page), "fallback: FALLBACK: Alluxio data off the fabric") << page;
  EXPECT_NE(page.find("<td>inode:42 (pod alluxio/worker-0)</td><td>worker_data</td>"),
            std::string::npos)
      << page;
}

TEST_F(StatusPageTest, HostileLabelValuesAreEscaped) {
  const std::string evil = "<script>alert(\"x\")</script>&'";
  sink.Gauge("ibpath_datapath_expected_device", "", {{"device", evil}, {"source", "flag"}}, 1);
  sink.Gauge("ibpath_alluxio_listener_info", "",
             {{"role", "worker_data"},
              {"address", evil},
              {"port", "1"},
              {"device", "eth<0>"},
              {"on_data_device", "false"}},
             1);
  sink.Gauge("ibpath_collector_success", "", {{"collector", evil}}, 0);
  info.hostname = "<b>host</b>";
  info.version = "\"1\"";
  info.endpoints.push_back({"/x\"onmouseover=\"y", "<i>"});
  const std::string page = Render();
  EXPECT_EQ(page.find("<script"), std::string::npos) << page;
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_EQ(page.find("<i>"), std::string::npos);
  EXPECT_EQ(page.find("eth<0>"), std::string::npos);
  EXPECT_EQ(page.find("\"1\""), std::string::npos);
  EXPECT_EQ(page.find("\"y"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("&lt;b&gt;host&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(HtmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

TEST_F(StatusPageTest, NoExternalAssets) {
  Connections("eth0", 1, 1);
  sink.Gauge("ibpath_probe_success", "", {}, 1);
  sink.Gauge("ibpath_probe_on_data_device", "", {}, 1);
  sink.Gauge("ibpath_bond_info", "",
             {{"bond", "bond0"}, {"mode", "active-backup"}, {"transport", "infiniband"}}, 1);
  sink.Gauge("ibpath_bond_slaves", "", {{"bond", "bond0"}}, 2);
  sink.Gauge("ibpath_bond_active_slaves", "", {{"bond", "bond0"}}, 1);
  const std::string page = Render();
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("//"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("url("), std::string::npos);
  EXPECT_EQ(page.find("@import"), std::string::npos);
  // Every link is one of the agent's own endpoints.
  EXPECT_EQ(Links(page), (std::vector<std::string>{"/metrics", "/healthz", "/probe"}));
  EXPECT_NE(page.find("<td>bond0</td>"), std::string::npos);
  EXPECT_NE(page.find("1/2"), std::string::npos);
}

}  // namespace
}  // namespace ibpath
