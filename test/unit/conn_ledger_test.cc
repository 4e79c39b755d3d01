#include "collectors/conn_ledger.h"

#include <gtest/gtest.h>

namespace ibpath {
namespace {

FlowKey Key(std::string device, bool fallback = false) {
  return FlowKey{"worker_data", Side::kServer, std::move(device), fallback};
}

ConnLedger::Totals TotalsFor(const ConnLedger& l, const FlowKey& k) {
  auto all = l.FlowTotals();
  auto it = all.find(k);
  return it == all.end() ? ConnLedger::Totals{} : it->second;
}

auto Never() {
  return []() -> std::optional<FlowKey> {
    ADD_FAILURE() << "classify called for a known socket";
    return std::nullopt;
  };
}

TEST(ConnLedger, BaselineSampleCountsNothing) {
  ConnLedger l;
  l.BeginSample();
  l.Observe(1, Key("ib0"), 1000, 50);
  l.EndSample(true);
  EXPECT_TRUE(l.baselined());
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 0u);
  EXPECT_EQ(l.LiveConnections()[Key("ib0")], 1u);
}

TEST(ConnLedger, GrowthOfKnownSocketIsCounted) {
  ConnLedger l;
  l.BeginSample();
  l.Observe(1, Key("ib0"), 1000, 50);
  l.EndSample(true);
  l.BeginSample();
  l.Observe(1, Key("ib0"), 4000, 80);
  l.EndSample(true);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 3000u);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).receive, 30u);
}

TEST(ConnLedger, SocketBornAfterBaselineCountsAllItsBytes) {
  ConnLedger l;
  l.BeginSample();
  l.EndSample(true);
  l.BeginSample();
  l.Observe(7, Key("ib0"), 500, 9);
  l.EndSample(true);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 500u);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).receive, 9u);
}

TEST(ConnLedger, RouteChangeMovesOnlyNewBytes) {
  ConnLedger l;
  l.BeginSample();
  l.EndSample(true);
  l.BeginSample();
  l.Observe(1, Key("ib0"), 100, 0);
  l.EndSample(true);
  l.BeginSample();
  l.Observe(1, Key("eth0", true), 350, 0);
  l.EndSample(true);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 100u);
  EXPECT_EQ(TotalsFor(l, Key("eth0", true)).transmit, 250u);
  auto live = l.LiveConnections();
  EXPECT_EQ(live.count(Key("ib0")), 0u);
  EXPECT_EQ(live[Key("eth0", true)], 1u);
}

TEST(ConnLedger, DestroyOfKnownSocketAddsTheRestOnce) {
  ConnLedger l;
  l.BeginSample();
  l.EndSample(true);
  l.BeginSample();
  l.Observe(1, Key("ib0"), 100, 10);
  l.EndSample(true);
  l.Destroyed(1, 900, 20, Never());
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 900u);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).receive, 20u);
  EXPECT_EQ(l.tracked_sockets(), 0u);
  // A duplicate notice must not count again: the socket is gone, so the
  // ledger asks to classify it as new; refusing keeps totals unchanged.
  l.Destroyed(1, 900, 20, [] { return std::optional<FlowKey>(); });
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 900u);
}

TEST(ConnLedger, DestroyOfUnseenSocketCountsAllBytes) {
  ConnLedger l;
  l.BeginSample();
  l.EndSample(true);
  int calls = 0;
  l.Destroyed(42, 1234, 5, [&] {
    ++calls;
    return std::optional<FlowKey>(Key("ib0"));
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 1234u);
  EXPECT_EQ(l.tracked_sockets(), 0u);
}

TEST(ConnLedger, DestroyBeforeBaselineIsIgnored) {
  ConnLedger l;
  l.Destroyed(42, 1234, 5, [] { return std::optional<FlowKey>(Key("ib0")); });
  EXPECT_TRUE(l.FlowTotals().empty() || TotalsFor(l, Key("ib0")).transmit == 0u);
}

TEST(ConnLedger, NoticeTrailingTheDumpStillCounts) {
  // The socket closed just before a dump (so the dump misses it) and its
  // notice is read after that sample: the grace period keeps its state.
  ConnLedger l;
  l.BeginSample();
  l.EndSample(true);
  l.BeginSample();
  l.Observe(3, Key("ib0"), 100, 0);
  l.EndSample(true);
  l.BeginSample();
  l.EndSample(true);  // absent once
  l.Destroyed(3, 150, 0, Never());
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 150u);
  EXPECT_EQ(l.unaccounted_closes(), 0u);
}

TEST(ConnLedger, VanishedSocketIsDroppedAfterGrace) {
  ConnLedger l;
  l.BeginSample();
  l.Observe(3, Key("ib0"), 100, 0);
  l.EndSample(true);
  for (int i = 0; i < ConnLedger::kGraceSamples; ++i) {
    l.BeginSample();
    l.EndSample(true);
    EXPECT_EQ(l.tracked_sockets(), 1u) << "dropped too early, after " << i + 1;
  }
  l.BeginSample();
  l.EndSample(true);
  EXPECT_EQ(l.tracked_sockets(), 0u);
  EXPECT_EQ(l.departed_sockets(), 1u);  // still waiting for a late notice
  EXPECT_EQ(l.unaccounted_closes(), 0u);
  for (uint64_t i = 0; i < ConnLedger::kDepartedSamples; ++i) {
    l.BeginSample();
    l.EndSample(true);
  }
  EXPECT_EQ(l.departed_sockets(), 0u);
  EXPECT_EQ(l.unaccounted_closes(), 1u);
}

TEST(ConnLedger, LateNoticeAfterGraceAddsOnlyTheRest) {
  // Samples come quickly (a resync after lost notices, a scrape storm): the
  // socket leaves the dumps and the grace long before its notice is read.
  // The notice must add what moved since the last sample, not all again.
  ConnLedger l;
  l.BeginSample();
  l.EndSample(true);
  l.BeginSample();
  l.Observe(3, Key("ib0"), 100, 10);
  l.EndSample(true);
  for (int i = 0; i < ConnLedger::kGraceSamples + 5; ++i) {
    l.BeginSample();
    l.EndSample(true);
  }
  l.Destroyed(3, 150, 12, []() -> std::optional<FlowKey> { return Key("eth0"); });
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 150u);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).receive, 12u);
  EXPECT_EQ(TotalsFor(l, Key("eth0")).transmit, 0u) << "counted again as a new socket";
  EXPECT_EQ(l.departed_sockets(), 0u);
  // The stale order record is skipped without counting it unaccounted.
  for (uint64_t i = 0; i < ConnLedger::kDepartedSamples + 2; ++i) {
    l.BeginSample();
    l.EndSample(true);
  }
  EXPECT_EQ(l.unaccounted_closes(), 0u);
}

TEST(ConnLedger, DepartedListIsBounded) {
  ConnLedger l;
  l.BeginSample();
  l.EndSample(true);
  l.BeginSample();
  for (uint64_t c = 0; c < ConnLedger::kMaxDeparted + 10; ++c) l.Observe(c, Key("ib0"), 1, 1);
  l.EndSample(true);
  for (int i = 0; i <= ConnLedger::kGraceSamples; ++i) {
    l.BeginSample();
    l.EndSample(true);
  }
  EXPECT_LE(l.departed_sockets(), ConnLedger::kMaxDeparted);
  EXPECT_EQ(l.unaccounted_closes(), 10u);
}

TEST(ConnLedger, IncompleteSampleAgesNothing) {
  ConnLedger l;
  l.BeginSample();
  l.Observe(3, Key("ib0"), 100, 0);
  l.EndSample(true);
  for (int i = 0; i < 5; ++i) {
    l.BeginSample();
    l.EndSample(false);
  }
  EXPECT_EQ(l.tracked_sockets(), 1u);
}

TEST(ConnLedger, IncompleteFirstSampleIsNotABaseline) {
  ConnLedger l;
  l.BeginSample();
  l.EndSample(false);
  EXPECT_FALSE(l.baselined());
  l.BeginSample();
  l.Observe(1, Key("ib0"), 100, 0);
  l.EndSample(true);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 0u);
}

TEST(ConnLedger, CounterRegressionCountsNothing) {
  ConnLedger l;
  l.BeginSample();
  l.Observe(1, Key("ib0"), 1000, 10);
  l.EndSample(true);
  l.BeginSample();
  l.Observe(1, Key("ib0"), 10, 10);
  l.EndSample(true);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 0u);
  EXPECT_EQ(l.counter_regressions(), 1u);
  l.BeginSample();
  l.Observe(1, Key("ib0"), 1500, 10);
  l.EndSample(true);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 500u) << "the high-water mark must hold";
}

TEST(ConnLedger, RebaselineForgetsSocketsButKeepsTotals) {
  ConnLedger l;
  l.BeginSample();
  l.EndSample(true);
  l.BeginSample();
  l.Observe(1, Key("ib0"), 100, 0);
  l.EndSample(true);
  l.Rebaseline();
  l.BeginSample();
  l.Observe(1, Key("ib0"), 200, 0);
  l.Observe(2, Key("ib0"), 999, 0);
  l.EndSample(true);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 100u);
  l.BeginSample();
  l.Observe(1, Key("ib0"), 260, 0);
  l.Observe(2, Key("ib0"), 1000, 0);
  l.EndSample(true);
  EXPECT_EQ(TotalsFor(l, Key("ib0")).transmit, 161u);
}

TEST(ConnLedger, TotalsNeverDecreaseUnderRandomSchedules) {
  ConnLedger l;
  uint64_t last = 0;
  std::vector<uint64_t> acked(20, 0);
  uint32_t seed = 12345;
  auto rnd = [&] {
    seed = seed * 1103515245 + 12345;
    return (seed >> 16) & 0x7fff;
  };
  for (int round = 0; round < 300; ++round) {
    l.BeginSample();
    for (uint64_t c = 0; c < acked.size(); ++c) {
      if (rnd() % 4 == 0) continue;  // missing from this dump
      acked[c] += rnd() % 1000;
      l.Observe(c, Key(rnd() % 2 ? "ib0" : "eth0"), acked[c], 0);
    }
    l.EndSample(rnd() % 10 != 0);
    if (rnd() % 5 == 0) {
      const uint64_t c = rnd() % acked.size();
      acked[c] += rnd() % 1000;
      l.Destroyed(c, acked[c], 0, [] { return std::optional<FlowKey>(Key("ib0")); });
    }
    uint64_t sum = 0;
    for (const auto& [k, t] : l.FlowTotals()) sum += t.transmit;
    ASSERT_GE(sum, last) << "round " << round;
    last = sum;
  }
  EXPECT_GT(last, 0u);
}

}  // namespace
}  // namespace ibpath
