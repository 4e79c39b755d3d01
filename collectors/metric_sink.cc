#include "collectors/metric_sink.h"

#include <algorithm>

namespace ibpath {

namespace {

// Length of the valid UTF-8 sequence at s[i] (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0.
std::size_t Utf8SequenceAt(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string ValidUtf8(std::string_view v) {
  std::size_t i = 0;
  while (i < v.size()) {
    const std::size_t n = Utf8SequenceAt(v, i);
    if (n == 0) break;
    i += n;
  }
  if (i == v.size()) return std::string(v);  // the common case: valid as it is
  std::string out(v.substr(0, i));
  while (i < v.size()) {
    const std::size_t n = Utf8SequenceAt(v, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(v.substr(i, n));
      i += n;
    }
  }
  return out;
}

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
  for (const auto& [k, v] : labels) m.label.push_back({k, ValidUtf8(v)});
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
      for (const auto& [k, v] : extra) labels.push_back({k, ValidUtf8(v)});
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
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& f : out) {
    std::stable_sort(f.metric.begin(), f.metric.end(),
                     [](const auto& a, const auto& b) { return a.label < b.label; });
  }
  return out;
}

}  // namespace ibpath
