// Reading alluxio-site.properties: java.util.Properties syntax plus Alluxio's
// ${key} substitution. Pure functions over text; no file access, no metrics.
//
// Contract: parsing never fails as a whole. Every line Java would accept is
// accepted; what Java would reject (a malformed \uXXXX escape) or Alluxio would
// ignore (a key outside the alluxio.* namespace) is kept out of the result and
// reported as a PropertyProblem with its 1-based line number, so one bad line
// never hides the rest of the file.
// Thread-safety: stateless functions, safe from any thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ibpath {

struct PropertyProblem {
  int line = 0;         // 1-based line where the logical line starts; 0 if not tied to a line
  std::string key;      // the key concerned, if any
  std::string message;  // complete sentence fragment, e.g. "malformed \\uXXXX escape"
  bool operator==(const PropertyProblem&) const = default;
};

struct PropertyEntry {
  std::string value;  // after escape processing, before ${} substitution
  int line = 0;       // 1-based line where the logical line starts
  bool operator==(const PropertyEntry&) const = default;
};

struct Properties {
  // Later definitions of a key replace earlier ones, as java.util.Properties does.
  std::map<std::string, PropertyEntry> entries;
  std::vector<PropertyProblem> problems;
};

// Parses text by java.util.Properties.load(Reader) rules: '#' and '!' comment
// lines, key/value separated by '=', ':' or whitespace, backslash line
// continuations (leading whitespace of the continued line dropped), escapes
// \t \n \r \f \\ \uXXXX, and any other escaped character stands for itself.
Properties ParseProperties(std::string_view text);

struct ResolvedProperties {
  std::map<std::string, std::string> values;  // fully substituted
  std::vector<PropertyProblem> problems;      // one per key that could not be resolved
};

// Replaces ${other.key} references, recursively, the way Alluxio's
// configuration does. A reference is looked up in `props` first, then in
// `fallback` (Alluxio's built-in defaults such as alluxio.home). A key whose
// value references an unknown key, or takes part in a cycle, is left out of
// `values` and gets one problem; all other keys are unaffected.
ResolvedProperties ResolveSubstitutions(
    const Properties& props,
    const std::function<std::optional<std::string>(std::string_view key)>& fallback);

}  // namespace ibpath
