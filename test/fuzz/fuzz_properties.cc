// alluxio-site.properties: ParseProperties and ResolveSubstitutions on any text.
// Invariants: every entry has a key in alluxio.*, line numbers lie in the
// text, parsing is deterministic, what was parsed survives being stored
// (java.util.Properties escaping) and parsed again, every entry either
// resolves or gets exactly one problem, and substitution never grows a value
// by more than its documented 64 KiB bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "collectors/source/properties.h"
#include "test/fuzz/fuzz_check.h"

namespace {

constexpr std::size_t kMaxExpansion = 64 * 1024;  // properties.cc's bound

// Escapes as java.util.Properties.store does (every space escaped, so
// leading blanks and separators survive).
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\f': out += "\\f"; break;
      case ' ':
      case '=':
      case ':':
      case '#':
      case '!':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

int NaturalLines(std::string_view text) {
  int n = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++n;
    }
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Properties props = ParseProperties(text);
  const int lines = NaturalLines(text);
  for (const auto& [key, entry] : props.entries) {
    FUZZ_CHECK(!key.empty());
    FUZZ_CHECK(key.starts_with("alluxio."));
    FUZZ_CHECK(entry.line >= 1 && entry.line <= lines);
  }
  for (const PropertyProblem& p : props.problems) {
    FUZZ_CHECK(p.line >= 1 && p.line <= lines);
    FUZZ_CHECK(!p.message.empty());
  }

  const Properties again = ParseProperties(text);
  FUZZ_CHECK(again.entries == props.entries);
  FUZZ_CHECK(again.problems == props.problems);

  std::string stored;
  for (const auto& [key, entry] : props.entries) {
    stored += Escape(key) + "=" + Escape(entry.value) + "\n";
  }
  const Properties back = ParseProperties(stored);
  FUZZ_CHECK(back.problems.empty());
  FUZZ_CHECK(back.entries.size() == props.entries.size());
  for (const auto& [key, entry] : props.entries) {
    auto it = back.entries.find(key);
    FUZZ_CHECK(it != back.entries.end());
    FUZZ_CHECK(it->second.value == entry.value);
  }

  // A fallback with a value, a self-reference and a reference into the file.
  auto fallback = [](std::string_view key) -> std::optional<std::string> {
    if (key == "alluxio.home") return "/opt/alluxio";
    if (key == "alluxio.fallback.loop") return "${alluxio.fallback.loop}";
    if (key == "alluxio.fallback.ref") return "x${alluxio.a}";
    return std::nullopt;
  };
  const ResolvedProperties resolved = ResolveSubstitutions(props, fallback);
  FUZZ_CHECK(resolved.values.size() + resolved.problems.size() == props.entries.size());
  for (const auto& [key, value] : resolved.values) {
    auto it = props.entries.find(key);
    FUZZ_CHECK(it != props.entries.end());
    const std::string& raw = it->second.value;
    if (raw.find("${") == std::string::npos) FUZZ_CHECK(value == raw);
    FUZZ_CHECK(value.size() <= raw.size() + kMaxExpansion);
  }
  for (const PropertyProblem& p : resolved.problems) {
    FUZZ_CHECK(props.entries.contains(p.key));
    FUZZ_CHECK(!resolved.values.contains(p.key));
    FUZZ_CHECK(!p.message.empty());
  }
  const ResolvedProperties resolved_again = ResolveSubstitutions(props, fallback);
  FUZZ_CHECK(resolved_again.values == resolved.values);
  return 0;
}
