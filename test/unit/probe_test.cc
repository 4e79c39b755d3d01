// Tests of the data-path probe: URL and path-id building, failure words,
// the verdict, and real fetches against a loopback HTTP server that this
// test starts (test/fixtures/probe/http_server.py). All traffic is loopback.
#include "collectors/probe.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "agent/flags.h"
#include "agent/http_server.h"
#include "agent/probe_endpoint.h"
#include "collectors/source/alluxio_http.h"
#include "collectors/source/http_fetch.h"

namespace ibpath {
namespace {

using std::chrono::milliseconds;

TEST(AlluxioHttp, Sha256MatchesKnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // hashlib.sha256("s3://bucket/data/file.bin".encode("utf-8")).hexdigest(), as
  // alluxio-py's _get_path_hash computes it.
  EXPECT_EQ(AlluxioPathId("s3://bucket/data/file.bin"),
            "6924934327807fbb249980350c3e114c07d34f0ecb572ae979fbe7f7c083778f");
}

TEST(AlluxioHttp, RangeUrlHasTheClientsShape) {
  const std::string id = AlluxioPathId("s3://bucket/data/file.bin");
  auto url = AlluxioRangeUrl("10.0.0.7", "s3://bucket/data/file.bin", 0, 1024);
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(*url, "http://10.0.0.7:28080/v1/range/" + id +
                      "?ufsFullPath=s3://bucket/data/file.bin&offset=0&length=1024");
  url = AlluxioRangeUrl("worker-3:18080", "s3://bucket/data/file.bin", 5, 6);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->rfind("http://worker-3:18080/v1/range/", 0), 0u);
  EXPECT_NE(url->find("&offset=5&length=6"), std::string::npos);
  url = AlluxioRangeUrl("[fd00::7]:9", "/local/f", 0, 1);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->rfind("http://[fd00::7]:9/v1/range/", 0), 0u);
  // The id hashes the raw path; only the query value is encoded.
  url = AlluxioRangeUrl("w", "s3://b/a b&c", 0, 1);
  ASSERT_TRUE(url.ok());
  EXPECT_NE(url->find("/v1/range/" + AlluxioPathId("s3://b/a b&c") + "?"), std::string::npos);
  EXPECT_NE(url->find("ufsFullPath=s3://b/a%20b%26c&"), std::string::npos);

  for (auto [worker, path] : std::vector<std::pair<std::string, std::string>>{{"", "s3://b/k"},
                                                                              {"w", ""},
                                                                              {"w:0", "p"},
                                                                              {"w:65536", "p"},
                                                                              {"w:x", "p"},
                                                                              {"[fd00::1", "p"},
                                                                              {":80", "p"},
                                                                              {"w:", "p"}}) {
    EXPECT_FALSE(AlluxioRangeUrl(worker, path, 0, 1).ok()) << worker << " " << path;
  }
}

TEST(AlluxioHttp, EncodeQueryValueKeepsPathsReadable) {
  EXPECT_EQ(EncodeQueryValue("hdfs://nn:8020/a/b-c_d.e~f"), "hdfs://nn:8020/a/b-c_d.e~f");
  EXPECT_EQ(EncodeQueryValue("a b&c=d%e?f#g+"), "a%20b%26c%3Dd%25e%3Ff%23g%2B");
  EXPECT_EQ(EncodeQueryValue("\xc3\xa9"), "%C3%A9");
}

TEST(ClassifyFetch, Words) {
  struct Case {
    CURLcode code;
    long status;
    uint64_t bytes;
    std::optional<uint64_t> length;
    bool stopped, cancelled;
    std::string want;
  } cases[] = {
      {CURLE_OK, 200, 10, 10, false, false, ""},
      {CURLE_OK, 206, 10, 10, false, false, ""},
      {CURLE_WRITE_ERROR, 200, 10, 100, true, false, ""},  // we stopped at the limit
      {CURLE_WRITE_ERROR, 200, 10, 100, false, false, "error"},
      {CURLE_COULDNT_RESOLVE_HOST, 0, 0, {}, false, false, "dns"},
      {CURLE_COULDNT_CONNECT, 0, 0, {}, false, false, "connect"},
      {CURLE_OPERATION_TIMEDOUT, 200, 5, 10, false, false, "timeout"},
      {CURLE_INTERFACE_FAILED, 0, 0, {}, false, false, "bind"},
      {CURLE_TOO_MANY_REDIRECTS, 307, 0, {}, false, false, "redirect"},
      {CURLE_UNSUPPORTED_PROTOCOL, 0, 0, {}, false, false, "bad_url"},
      {CURLE_PEER_FAILED_VERIFICATION, 0, 0, {}, false, false, "tls"},
      {CURLE_PARTIAL_FILE, 200, 5, 10, false, false, "short_read"},
      {CURLE_GOT_NOTHING, 0, 0, {}, false, false, "empty_reply"},
      {CURLE_RECV_ERROR, 200, 5, 10, false, false, "network"},
      {CURLE_OK, 404, 6, 6, false, false, "http_status"},
      {CURLE_OK, 500, 6, 6, false, false, "http_status"},
      {CURLE_OK, 200, 5, 10, false, false, "short_read"},
      {CURLE_ABORTED_BY_CALLBACK, 200, 5, 10, false, true, "cancelled"},
      {CURLE_SSL_CIPHER, 0, 0, {}, false, false, "tls"},
      {CURLE_FAILED_INIT, 0, 0, {}, false, false, "error"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyFetch(c.code, c.status, c.bytes, c.length, c.stopped, c.cancelled), c.want)
        << curl_easy_strerror(c.code) << " status " << c.status;
  }
}

NetSnapshot LabNet() {
  NetSnapshot net;
  auto add = [&](int idx, std::string name, Transport t, int master = 0) {
    Link l;
    l.ifindex = idx;
    l.name = std::move(name);
    l.transport = t;
    l.master_ifindex = master;
    net.links.push_back(l);
  };
  add(1, "lo", Transport::kLoopback);
  add(2, "eth0", Transport::kEthernet);
  add(3, "ib0", Transport::kInfiniband, 5);
  add(4, "ib1", Transport::kInfiniband, 5);
  add(5, "bond0", Transport::kInfiniband);
  add(6, "ib2", Transport::kInfiniband);
  return net;
}

TEST(JudgePath, Verdicts) {
  const NetSnapshot net = LabNet();
  ExpectedDevices ib{"flag", {"ib0", "ib2"}};
  struct Case {
    std::string route;
    std::map<std::string, uint64_t> rx;
    uint64_t read;
    bool on;
    bool local;
    std::string reason;
  } cases[] = {
      {"ib2", {{"ib2", 1100}}, 1000, true, false, ""},
      {"ib2", {{"ib2", 1000}}, 1000, true, false, ""},
      // Routed to the fabric, but the bytes arrived on Ethernet (asymmetric reply).
      {"ib2", {{"ib2", 40}, {"eth0", 1100}}, 1000, false, false, "rx_not_on_data_device"},
      {"ib2", {}, 1000, false, false, "rx_not_on_data_device"},
      {"ib2", {{"ib2", 10}}, 0, false, false, "rx_not_on_data_device"},
      // The bond whose member is expected: its counters include the member's.
      {"bond0", {{"bond0", 5000}}, 4096, true, false, ""},
      {"eth0", {{"eth0", 1100}}, 1000, false, false, "route_not_data_device"},
      {"eth0", {{"eth0", 1100}, {"ib2", 1100}}, 1000, false, false, "route_not_data_device"},
      {"lo", {{"lo", 1100}}, 1000, false, true, ""},
      {"", {{"ib2", 1100}}, 1000, false, false, "route_unknown"},
      {"if42", {{"if42", 1100}}, 1000, false, false, "route_not_data_device"},
  };
  for (const Case& c : cases) {
    PathVerdict v = JudgePath(c.route, ib, net, c.rx, c.read);
    EXPECT_EQ(v.on_data_device, c.on) << c.route;
    EXPECT_EQ(v.local_only, c.local) << c.route;
    EXPECT_EQ(v.reason, c.reason) << c.route;
  }
  // lo expected on purpose (the loopback tests do this): judged like any device.
  ExpectedDevices lo{"flag", {"lo"}};
  EXPECT_TRUE(JudgePath("lo", lo, net, {{"lo", 2000}}, 1000).on_data_device);
}

TEST(ReceiveDeltas, ByIfindexAndName) {
  auto link = [](int idx, std::string name, uint64_t rx) {
    Link l;
    l.ifindex = idx;
    l.name = std::move(name);
    l.stats = LinkStats{};
    l.stats->rx_bytes = rx;
    return l;
  };
  std::vector<Link> before = {link(1, "lo", 100), link(2, "eth0", 50), link(3, "ib0", 7),
                              link(4, "old", 1)};
  std::vector<Link> after = {link(1, "lo", 100), link(2, "eth0", 80), link(3, "ib0", 1007),
                             link(5, "new", 9), link(4, "renamed", 5)};
  auto d = ReceiveDeltas(before, after);
  EXPECT_EQ(d, (std::map<std::string, uint64_t>{{"eth0", 30}, {"ib0", 1000}}));
}

TEST(ProbeFlags, DefaultsAndWorkerUrl) {
  auto f = ParseFlags({});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->probe_url.empty());
  EXPECT_EQ(f->probe_interval.count(), 60000);
  EXPECT_EQ(f->probe_timeout.count(), 30000);
  EXPECT_EQ(f->probe_bytes, 64ull << 20);
  EXPECT_FALSE(f->probe_pin_device);
  EXPECT_EQ(f->probe_max_concurrent, 2);

  f = ParseFlags({"--probe.worker=10.0.0.7", "--probe.path=s3://bucket/data/file.bin",
                  "--probe.bytes=1MiB", "--probe.interval=10s", "--probe.device=ib0"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->probe_url, "http://10.0.0.7:28080/v1/range/" +
                              AlluxioPathId("s3://bucket/data/file.bin") +
                              "?ufsFullPath=s3://bucket/data/file.bin&offset=0&length=1048576");
  EXPECT_EQ(f->probe_timeout.count(), 10000);  // the default shrinks to the interval
  EXPECT_EQ(f->probe_device, "ib0");

  struct Case {
    std::vector<std::string> args;
    std::string want;
  } cases[] = {
      {{"--probe.url=ftp://x/"}, "must be http:// or https://"},
      {{"--probe.worker=w"}, "go together"},
      {{"--probe.url=http://x/", "--probe.worker=w", "--probe.path=p"}, "either --probe.url"},
      {{"--probe.bytes=lots"}, "not a size"},
      {{"--probe.bytes=0"}, "not a size"},
      {{"--probe.interval=0s"}, "more than 0"},
      {{"--probe.timeout=2m"}, "must not exceed"},
      {{"--probe.pin-device"}, "needs --probe.device"},
      {{"--probe.max-concurrent=-1"}, "0 to 64"},
      {{"--probe.worker=w:99999", "--probe.path=p"}, "bad port"},
  };
  for (const Case& c : cases) {
    auto r = ParseFlags(c.args);
    ASSERT_FALSE(r.ok()) << c.args[0];
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
}

TEST(ParseQuery, DecodesPairs) {
  auto q = ParseQuery("target=http%3A%2F%2Fw%3A1%2Fx%3Fa%3D1%26b%3D2&bytes=1MiB&flag&x=a+b");
  EXPECT_EQ(q["target"], "http://w:1/x?a=1&b=2");
  EXPECT_EQ(q["bytes"], "1MiB");
  EXPECT_EQ(q["flag"], "");
  EXPECT_EQ(q["x"], "a b");
  EXPECT_TRUE(ParseQuery("").empty());
}

// The fixture server, on two loopback ports; stopped when the test ends.
class LoopbackServer {
 public:
  LoopbackServer() {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      execl("/usr/bin/python3", "python3", IBPATH_SOURCE_DIR "/test/fixtures/probe/http_server.py",
            nullptr);
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    FILE* f = fdopen(out[0], "r");
    if (f != nullptr) {
      if (std::fscanf(f, "PORTS %d %d", &port_a_, &port_b_) != 2) port_a_ = port_b_ = 0;
      std::fclose(f);
    }
  }
  ~LoopbackServer() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool ok() const { return port_a_ > 0 && port_b_ > 0; }
  std::string Url(const std::string& path, int which = 0) const {
    return "http://127.0.0.1:" + std::to_string(which == 0 ? port_a_ : port_b_) + path;
  }
  int port_a() const { return port_a_; }
  int port_b() const { return port_b_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_a_ = 0, port_b_ = 0;
};

class ProbeLoopback : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << "fixture HTTP server did not start"; }
  FetchResult Get(const std::string& path, uint64_t max,
                  milliseconds timeout = milliseconds(5000)) {
    FetchRequest r;
    r.url = server_.Url(path);
    r.max_bytes = max;
    r.timeout = timeout;
    return Fetch(r);
  }
  LoopbackServer server_;
};

TEST_F(ProbeLoopback, RangeReadReportsTheBodySocket) {
  FetchResult r = Get("/data/1000000", 65536);
  EXPECT_EQ(r.reason, "") << r.error;
  EXPECT_EQ(r.http_status, 206);
  EXPECT_EQ(r.body_bytes, 65536u);
  EXPECT_FALSE(r.stopped_at_limit);
  ASSERT_TRUE(r.socket.known);
  EXPECT_EQ(r.socket.peer.ToString(), "127.0.0.1");
  EXPECT_EQ(r.socket.peer_port, server_.port_a());
  ASSERT_TRUE(r.socket.tcp_bytes_received.has_value());
  EXPECT_GE(*r.socket.tcp_bytes_received, 65536u);
  EXPECT_GE(r.transfer_seconds, 0.0);
}

TEST_F(ProbeLoopback, ServerIgnoringRangeIsCutAtTheLimit) {
  FetchResult r = Get("/norange/3000000", 100000);
  EXPECT_EQ(r.reason, "") << r.error;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.body_bytes, 100000u);
  EXPECT_TRUE(r.stopped_at_limit);
}

TEST_F(ProbeLoopback, HttpErrorsShortBodiesAndRefusals) {
  EXPECT_EQ(Get("/status/404", 1000).reason, "http_status");
  FetchResult r = Get("/status/500", 1000);
  EXPECT_EQ(r.reason, "http_status");
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(Get("/short/200000", 1 << 20).reason, "short_read");

  // A port nobody listens on: bind one, learn its number, close it.
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  FetchRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
  r = Fetch(req);
  EXPECT_EQ(r.reason, "connect");
  EXPECT_FALSE(r.socket.known);
}

TEST_F(ProbeLoopback, StallMidBodyHonoursTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  FetchResult r = Get("/stall/2000000", 4 << 20, milliseconds(700));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_EQ(r.body_bytes, 1000000u);
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_TRUE(r.socket.known);  // the socket that carried the half body
}

TEST_F(ProbeLoopback, AfterARedirectTheBodySocketIsTheSecondConnection) {
  FetchResult r = Get("/redirect/" + std::to_string(server_.port_b()) + "/data/300000", 1 << 20);
  EXPECT_EQ(r.reason, "") << r.error;
  EXPECT_EQ(r.redirects, 1);
  EXPECT_EQ(r.body_bytes, 300000u);
  ASSERT_TRUE(r.socket.known);
  EXPECT_EQ(r.socket.peer_port, server_.port_b());
  ASSERT_TRUE(r.socket.tcp_bytes_received.has_value());
  EXPECT_GE(*r.socket.tcp_bytes_received, 300000u);
}

TEST_F(ProbeLoopback, CancelStopsAFetch) {
  std::atomic<bool> cancel{false};
  FetchRequest req;
  req.url = server_.Url("/stall/2000000");
  req.timeout = milliseconds(20000);
  req.cancel = &cancel;
  auto f = std::async(std::launch::async, [&] { return Fetch(req); });
  std::this_thread::sleep_for(milliseconds(200));
  cancel = true;
  ASSERT_EQ(f.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_EQ(f.get().reason, "cancelled");
}

TEST_F(ProbeLoopback, ProbeOverLoopbackJudgesThePath) {
  ProbeSettings s;
  s.timeout = milliseconds(5000);
  s.datapath_devices = {"lo"};  // make loopback "the fabric" for this test
  s.device = "lo";
  ProbeOutcome o = RunHttpProbe(server_.Url("/data/4000000"), 1 << 20, s);
  EXPECT_TRUE(o.success) << o.reason << ": " << o.detail;
  EXPECT_TRUE(o.on_data_device);
  EXPECT_EQ(o.device, "lo");
  EXPECT_EQ(o.transport, "loopback");
  EXPECT_EQ(o.bind, "127.0.0.1");
  EXPECT_EQ(o.bytes, 1u << 20);
  EXPECT_GE(o.rx_delta["lo"], 1u << 20);
  EXPECT_GT(o.throughput_bytes_per_second, 0);

  // Loopback not expected: a co-located worker, success but not the fabric.
  s.datapath_devices = {"ib9"};
  o = RunHttpProbe(server_.Url("/data/4000000"), 1 << 20, s);
  EXPECT_TRUE(o.success) << o.reason;
  EXPECT_FALSE(o.on_data_device);

  s.device = "nosuchdev0";
  o = RunHttpProbe(server_.Url("/data/10"), 10, s);
  EXPECT_EQ(o.reason, "bind");

  // An Alluxio range URL, as --probe.worker/--probe.path build it.
  s.device.clear();
  auto url = AlluxioRangeUrl("127.0.0.1:" + std::to_string(server_.port_a()),
                             "s3://bucket/dir/file name.bin", 0, 100000);
  ASSERT_TRUE(url.ok());
  o = RunHttpProbe(*url, 100000, s);
  EXPECT_TRUE(o.success) << o.reason << ": " << o.detail;
  EXPECT_EQ(o.bytes, 100000u);
}

TEST_F(ProbeLoopback, ScrapesNeverWaitForAStalledProbe) {
  ProbeCollector::Options opt;
  opt.url = server_.Url("/stall/2000000");
  opt.interval = milliseconds(60000);
  opt.settings.timeout = milliseconds(20000);
  ProbeCollector probes(opt);
  probes.Start();
  std::this_thread::sleep_for(milliseconds(200));  // let the probe get stuck
  const auto start = std::chrono::steady_clock::now();
  MetricSink sink;
  EXPECT_TRUE(probes.Collect(sink).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(100));
  bool declared = false;
  for (const auto& f : sink.Take()) {
    if (f.name == "ibpath_probe_success") declared = f.metric.empty();  // no run finished yet
  }
  EXPECT_TRUE(declared);
  const auto stop_start = std::chrono::steady_clock::now();
  probes.Stop();  // cancels the stuck probe
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, std::chrono::seconds(3));
}

TEST_F(ProbeLoopback, OnDemandIsBoundedAndAnswersMetrics) {
  ProbeCollector::Options opt;
  opt.max_on_demand = 1;
  opt.bytes = 1 << 20;
  opt.settings.timeout = milliseconds(10000);
  ProbeCollector probes(opt);

  auto r = HandleProbeRequest(probes, {{"target", server_.Url("/data/500000")}});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("ibpath_probe_success 1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("ibpath_probe_bytes 500000"), std::string::npos) << r.body;
  r = HandleProbeRequest(probes, {{"target", server_.Url("/status/404")}});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("ibpath_probe_failure_info{reason=\"http_status\"} 1"), std::string::npos);
  EXPECT_EQ(HandleProbeRequest(probes, {}).status, 400);
  EXPECT_EQ(HandleProbeRequest(probes, {{"target", "file:///etc/passwd"}}).status, 400);
  EXPECT_EQ(HandleProbeRequest(probes, {{"target", server_.Url("/x")}, {"bytes", "x"}}).status,
            400);
  r = HandleProbeRequest(probes, {{"worker", "127.0.0.1:" + std::to_string(server_.port_a())},
                                  {"path", "s3://b/k"},
                                  {"bytes", "4KiB"}});
  EXPECT_NE(r.body.find("ibpath_probe_bytes 4096"), std::string::npos) << r.body;

  // One stalled probe holds the only slot: the next request is refused.
  auto stalled = std::async(std::launch::async, [&] {
    return HandleProbeRequest(probes, {{"target", server_.Url("/stall/2000000")}});
  });
  int refused = 0;
  for (int i = 0; i < 100 && refused == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
    if (HandleProbeRequest(probes, {{"target", server_.Url("/data/10")}}).status == 503) {
      ++refused;
    }
  }
  EXPECT_EQ(refused, 1);
  probes.Stop();  // cancels the stalled one
  EXPECT_EQ(stalled.get().status, 200);
}

}  // namespace
}  // namespace ibpath
