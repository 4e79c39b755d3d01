#include "agent/collector_registry.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace ibpath {

void CollectorRegistry::Register(std::string name, Collector* collector) {
  entries_.push_back({std::move(name), collector});
}

uint64_t CollectorRegistry::collections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return collections_;
}

std::vector<prometheus::MetricFamily> CollectorRegistry::Collect() const {
  std::unique_lock<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (generation_ > 0 && !in_flight_ && now - last_at_ < min_interval_) return last_;
  if (in_flight_) {
    const uint64_t waiting_for = generation_ + 1;
    done_.wait(lock, [&] { return generation_ >= waiting_for; });
    return last_;
  }
  in_flight_ = true;
  lock.unlock();
  std::vector<prometheus::MetricFamily> result = CollectNow();
  lock.lock();
  last_ = result;
  last_at_ = std::chrono::steady_clock::now();
  in_flight_ = false;
  ++generation_;
  ++collections_;
  done_.notify_all();
  return result;
}

std::vector<prometheus::MetricFamily> CollectorRegistry::CollectNow() const {
  MetricSink sink;
  for (const Entry& e : entries_) {
    const auto start = std::chrono::steady_clock::now();
    Status status;
    try {
      status = e.collector->Collect(sink);
    } catch (const std::exception& ex) {
      status = Status::IoError(std::string("unexpected exception: ") + ex.what());
    } catch (...) {
      status = Status::IoError("unexpected exception");
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!status.ok()) spdlog::warn("collector {} failed: {}", e.name, status.ToString());
    sink.Gauge("ibpath_collector_success",
               "1 if the collector's last run read everything it tried to read.",
               {{"collector", e.name}}, status.ok() ? 1 : 0);
    sink.Gauge("ibpath_collector_duration_seconds", "How long the collector's last run took.",
               {{"collector", e.name}}, seconds);
  }
  sink.Gauge("ibpath_build_info", "Version of ibpath-agent.", {{"version", version_}}, 1);
  if (sink.dropped_samples() > 0) {
    spdlog::error("{} samples dropped: a metric was declared with two types",
                  sink.dropped_samples());
  }
  return sink.Take();
}

}  // namespace ibpath
