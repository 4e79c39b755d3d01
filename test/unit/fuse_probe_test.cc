// The FUSE probe's verdict: per-device receive growth of the FUSE daemon's
// worker connections over the read -> on the data device or not, and why.
#include "collectors/fuse_probe.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>

namespace ibpath {
namespace {

constexpr uint64_t kMiB = 1 << 20;

bool IsData(std::string_view d) { return d == "ib0" || d == "bond0"; }
bool IsLoopback(std::string_view d) { return d == "lo"; }

FuseVerdict Judge(const std::map<std::string, uint64_t>& rx, uint64_t read) {
  return JudgeFuseRead(rx, read, IsData, IsLoopback);
}

TEST(JudgeFuseRead, AllBytesOverTheFabric) {
  FuseVerdict v = Judge({{"ib0", 8 * kMiB + 4096}}, 8 * kMiB);
  EXPECT_TRUE(v.on_data_device);
  EXPECT_EQ(v.reason, "");
  EXPECT_EQ(v.device, "ib0");
  EXPECT_EQ(v.network_bytes, 8 * kMiB + 4096);
}

TEST(JudgeFuseRead, NinetyPercentIsEnough) {
  // The daemon may read a little less than asked over the wire (e.g. the
  // first block was still in its own cache): 90% carries the verdict.
  EXPECT_TRUE(Judge({{"ib0", 9 * kMiB}}, 10 * kMiB).on_data_device);
  FuseVerdict v = Judge({{"ib0", 9 * kMiB - 1}}, 10 * kMiB);
  EXPECT_FALSE(v.on_data_device);
  EXPECT_EQ(v.reason, "no_network_read");
}

TEST(JudgeFuseRead, BytesOverEthernetNameTheDevice) {
  FuseVerdict v = Judge({{"eth0", 8 * kMiB}, {"ib0", 2048}}, 8 * kMiB);
  EXPECT_FALSE(v.on_data_device);
  EXPECT_EQ(v.reason, "route_not_data_device");
  EXPECT_EQ(v.device, "eth0");
}

TEST(JudgeFuseRead, SplitBelowTheShareIsNotOnTheDataDevice) {
  // Half over the fabric, half over Ethernet: the fabric did not carry 90%.
  FuseVerdict v = Judge({{"eth0", 4 * kMiB}, {"ib0", 4 * kMiB}}, 8 * kMiB);
  EXPECT_FALSE(v.on_data_device);
  EXPECT_EQ(v.reason, "route_not_data_device");
  EXPECT_EQ(v.device, "eth0");
}

TEST(JudgeFuseRead, SeveralDataDevicesTogether) {
  FuseVerdict v = Judge({{"ib0", 5 * kMiB}, {"bond0", 4 * kMiB}}, 9 * kMiB);
  EXPECT_TRUE(v.on_data_device);
  EXPECT_EQ(v.device, "ib0");
}

TEST(JudgeFuseRead, NothingMovedIsNoNetworkRead) {
  FuseVerdict v = Judge({}, 8 * kMiB);
  EXPECT_FALSE(v.on_data_device);
  EXPECT_EQ(v.reason, "no_network_read");
  EXPECT_EQ(v.device, "");
  EXPECT_EQ(v.network_bytes, 0u);
}

TEST(JudgeFuseRead, ZeroBytesReadProvesNothing) {
  FuseVerdict v = Judge({{"ib0", kMiB}}, 0);
  EXPECT_FALSE(v.on_data_device);
  EXPECT_EQ(v.reason, "no_network_read");
}

TEST(JudgeFuseRead, CoLocatedWorkerOverLoopbackIsLocalOnly) {
  FuseVerdict v = Judge({{"lo", 8 * kMiB}}, 8 * kMiB);
  EXPECT_FALSE(v.on_data_device);
  EXPECT_TRUE(v.local_only);
  EXPECT_EQ(v.reason, "");
  EXPECT_EQ(v.device, "lo");
}

TEST(JudgeFuseRead, UnknownRouteIsNotOnTheDataDevice) {
  FuseVerdict v = Judge({{"unknown", 8 * kMiB}}, 8 * kMiB);
  EXPECT_EQ(v.reason, "route_not_data_device");
  EXPECT_EQ(v.device, "unknown");
}

TEST(JudgeFuseRead, RepliesArrivingOverEthernetAreNotOnTheDataDevice) {
  // The connections route out over ib0, but the worker answers over eth0.
  std::map<std::string, uint64_t> iface = {{"ib0", 40960}, {"eth0", 8 * kMiB + 9000}};
  FuseVerdict v = JudgeFuseRead({{"ib0", 8 * kMiB}}, 8 * kMiB, IsData, IsLoopback, &iface);
  EXPECT_FALSE(v.on_data_device);
  EXPECT_EQ(v.reason, "rx_not_on_data_device");
  EXPECT_EQ(v.device, "eth0");
  std::map<std::string, uint64_t> good = {{"ib0", 8 * kMiB + 9000}, {"eth0", 300}};
  EXPECT_TRUE(
      JudgeFuseRead({{"ib0", 8 * kMiB}}, 8 * kMiB, IsData, IsLoopback, &good).on_data_device);
}

TEST(CounterGrowth, KeepsOnlyWhatGrew) {
  std::map<std::string, uint64_t> before = {{"ib0", 100}, {"eth0", 50}};
  std::map<std::string, uint64_t> after = {{"ib0", 300}, {"eth0", 50}, {"ib1", 7}};
  auto g = CounterGrowth(before, after);
  EXPECT_EQ(g, (std::map<std::string, uint64_t>{{"ib0", 200}, {"ib1", 7}}));
}

TEST(ReadUncached, NotOnFuseIsRefused) {
  // A regular file on a local file system is no FUSE mount.
  UncachedRead r = ReadUncached("/proc/self/status", kMiB, std::chrono::seconds(5));
  EXPECT_EQ(r.reason, "not_fuse");
  UncachedRead missing = ReadUncached("/nonexistent/ibpath-fuse", kMiB, std::chrono::seconds(5));
  EXPECT_EQ(missing.reason, "fuse_open");
}

TEST(RunFuseProbe, SamplerFailureIsAgent) {
  ProbeSettings settings;
  ConnectionRxSampler failing = [] {
    return Result<std::map<std::string, uint64_t>>(Status::Unavailable("no sock_diag"));
  };
  ProbeOutcome o = RunFuseProbe("/nonexistent", kMiB, settings, failing);
  EXPECT_EQ(o.kind, "fuse");
  EXPECT_FALSE(o.success);
  EXPECT_EQ(o.reason, "agent");
}

}  // namespace
}  // namespace ibpath
