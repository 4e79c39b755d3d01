#include "collectors/metric_sink.h"

#include <algorithm>

namespace ibpath {

prometheus::MetricFamily* MetricSink::Family(std::string_view name, std::string_view help,
                                             prometheus::MetricType type) {
  auto it = index_.find(std::string(name));
  if (it != index_.end()) {
    prometheus::MetricFamily* f = &families_[it->second];
    return f->type == type ? f : nullptr;
  }
  prometheus::MetricFamily f;
  f.name = std::string(name);
  f.help = std::string(help);
  f.type = type;
  families_.push_back(std::move(f));
  index_.emplace(std::string(name), families_.size() - 1);
  return &families_.back();
}

void MetricSink::Add(std::string_view name, std::string_view help, prometheus::MetricType type,
                     const Labels& labels, double value) {
  prometheus::MetricFamily* f = Family(name, help, type);
  if (f == nullptr) {
    ++dropped_;
    return;
  }
  prometheus::ClientMetric m;
  m.label.reserve(labels.size());
  for (const auto& [k, v] : labels) m.label.push_back({k, v});
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f->metric.push_back(std::move(m));
}

void MetricSink::Gauge(std::string_view name, std::string_view help, const Labels& labels,
                       double value) {
  Add(name, help, prometheus::MetricType::Gauge, labels, value);
}

void MetricSink::Counter(std::string_view name, std::string_view help, const Labels& labels,
                         double value) {
  Add(name, help, prometheus::MetricType::Counter, labels, value);
}

void MetricSink::Declare(std::string_view name, std::string_view help,
                         prometheus::MetricType type) {
  if (Family(name, help, type) == nullptr) ++dropped_;
}

void MetricSink::Merge(std::vector<prometheus::MetricFamily> families, const Labels& extra) {
  for (auto& from : families) {
    prometheus::MetricFamily* f = Family(from.name, from.help, from.type);
    if (f == nullptr) {
      dropped_ += from.metric.size();
      continue;
    }
    for (auto& m : from.metric) {
      std::vector<prometheus::ClientMetric::Label> labels;
      labels.reserve(extra.size() + m.label.size());
      for (const auto& [k, v] : extra) labels.push_back({k, v});
      labels.insert(labels.end(), m.label.begin(), m.label.end());
      m.label = std::move(labels);
      f->metric.push_back(std::move(m));
    }
  }
}

std::vector<prometheus::MetricFamily> MetricSink::Take() {
  std::vector<prometheus::MetricFamily> out = std::move(families_);
  families_.clear();
  index_.clear();
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& f : out) {
    std::stable_sort(f.metric.begin(), f.metric.end(),
                     [](const auto& a, const auto& b) { return a.label < b.label; });
  }
  return out;
}

}  // namespace ibpath
