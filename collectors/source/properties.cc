#include "collectors/source/properties.h"

#include <algorithm>
#include <set>

namespace ibpath {
namespace {

// java.util.Properties treats space, tab and form feed as whitespace.
bool IsPropsSpace(char c) { return c == ' ' || c == '\t' || c == '\f'; }

struct LogicalLine {
  std::string text;  // continuation backslashes and joined-line indentation removed
  int first_line = 0;
};

// Splits text into natural lines (\n, \r or \r\n) and joins continuations.
// A natural line continues when it ends in an odd number of backslashes;
// comment lines never continue, as in Java's LineReader.
std::vector<LogicalLine> LogicalLines(std::string_view text) {
  std::vector<LogicalLine> out;
  std::vector<std::string_view> natural;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      natural.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) natural.push_back(text.substr(start));

  bool continuing = false;
  for (size_t n = 0; n < natural.size(); ++n) {
    std::string_view line = natural[n];
    size_t first = 0;
    while (first < line.size() && IsPropsSpace(line[first])) ++first;
    line.remove_prefix(first);
    if (!continuing) {
      if (line.empty() || line.front() == '#' || line.front() == '!') continue;
      out.push_back({std::string(), static_cast<int>(n) + 1});
    }
    size_t backslashes = 0;
    while (backslashes < line.size() && line[line.size() - 1 - backslashes] == '\\') ++backslashes;
    continuing = backslashes % 2 == 1;
    if (continuing) line.remove_suffix(1);
    out.back().text.append(line);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads four hex digits at s[pos..pos+3].
bool ReadHex4(std::string_view s, size_t pos, uint32_t& value) {
  if (pos + 4 > s.size()) return false;
  value = 0;
  for (size_t k = pos; k < pos + 4; ++k) {
    int h = HexValue(s[k]);
    if (h < 0) return false;
    value = value * 16 + static_cast<uint32_t>(h);
  }
  return true;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes escapes in s. Returns false on a malformed \uXXXX, which makes Java's
// load() throw; we reject only the line instead.
bool Unescape(std::string_view s, std::string& out) {
  out.clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (++i == s.size()) break;  // a lone trailing backslash is dropped, as Java does
    char c = s[i];
    switch (c) {
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 'f': out.push_back('\f'); break;
      case 'u': {
        uint32_t cp = 0;
        if (!ReadHex4(s, i + 1, cp)) return false;
        i += 4;
        // Java strings are UTF-16: join a surrogate pair written as two escapes.
        uint32_t low = 0;
        if (cp >= 0xD800 && cp <= 0xDBFF && s.substr(i + 1, 2) == "\\u" &&
            ReadHex4(s, i + 3, low) && low >= 0xDC00 && low <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        AppendUtf8(out, cp);
        break;
      }
      default: out.push_back(c);
    }
  }
  return true;
}

}  // namespace

Properties ParseProperties(std::string_view text) {
  Properties props;
  for (const LogicalLine& line : LogicalLines(text)) {
    std::string_view s = line.text;
    // Key ends at the first unescaped '=', ':' or whitespace.
    size_t key_end = 0;
    bool escaped = false;
    for (; key_end < s.size(); ++key_end) {
      char c = s[key_end];
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '=' || c == ':' || IsPropsSpace(c)) {
        break;
      }
    }
    size_t value_start = key_end;
    while (value_start < s.size() && IsPropsSpace(s[value_start])) ++value_start;
    if (value_start < s.size() && (s[value_start] == '=' || s[value_start] == ':')) {
      ++value_start;
      while (value_start < s.size() && IsPropsSpace(s[value_start])) ++value_start;
    }
    std::string key, value;
    if (!Unescape(s.substr(0, key_end), key)) {
      props.problems.push_back({line.first_line, "", "malformed \\uXXXX escape in key"});
      continue;
    }
    if (!Unescape(s.substr(value_start), value)) {
      props.problems.push_back({line.first_line, key, "malformed \\uXXXX escape in value"});
      continue;
    }
    if (key.empty()) {
      props.problems.push_back({line.first_line, "", "line has a value but no key"});
      continue;
    }
    if (!key.starts_with("alluxio.")) {
      props.problems.push_back(
          {line.first_line, key, "key is outside the alluxio.* namespace and is ignored"});
      continue;
    }
    props.entries[key] = PropertyEntry{std::move(value), line.first_line};
  }
  return props;
}

namespace {

// Alluxio's limits are generous; ours bound work on hostile input.
constexpr int kMaxDepth = 32;
constexpr size_t kMaxExpansion = 64 * 1024;

class Resolver {
 public:
  Resolver(const Properties& props,
           const std::function<std::optional<std::string>(std::string_view)>& fallback)
      : props_(props), fallback_(fallback) {}

  // Substitutes `raw` at nesting `depth`. `height` is how many levels of
  // references the result needed; it makes the depth limit independent of
  // the order in which keys were cached.
  bool Expand(const std::string& raw, std::set<std::string>& in_progress, int depth,
              std::string& out, int& height, std::string& error) {
    out.clear();
    height = 0;
    size_t i = 0;
    while (i < raw.size()) {
      size_t open = raw.find("${", i);
      if (open == std::string::npos) {
        out.append(raw, i);
        break;
      }
      size_t close = raw.find('}', open + 2);
      if (close == std::string::npos) {  // no closing brace: literal text, as Alluxio leaves it
        out.append(raw, i);
        break;
      }
      out.append(raw, i, open - i);
      std::string ref = raw.substr(open + 2, close - open - 2);
      std::string sub;
      int sub_height = 0;
      if (!Lookup(ref, in_progress, depth + 1, sub, sub_height, error)) return false;
      height = std::max(height, sub_height + 1);
      out += sub;
      if (out.size() > kMaxExpansion) {
        error = "substituted value exceeds " + std::to_string(kMaxExpansion) + " bytes";
        return false;
      }
      i = close + 1;
    }
    return true;
  }

  bool Lookup(const std::string& key, std::set<std::string>& in_progress, int depth,
              std::string& out, int& height, std::string& error) {
    if (auto done = cache_.find(key); done != cache_.end()) {
      out = done->second.value;
      height = done->second.height;
      return CheckDepth(depth + height, error);
    }
    if (!CheckDepth(depth, error)) return false;
    if (in_progress.contains(key)) {
      error = "substitution cycle through ${" + key + "}";
      return false;
    }
    std::string raw;
    if (auto it = props_.entries.find(key); it != props_.entries.end()) {
      raw = it->second.value;
    } else if (auto fb = fallback_ ? fallback_(key) : std::nullopt; fb) {
      raw = *fb;
    } else {
      error = "references unknown key ${" + key + "}";
      return false;
    }
    in_progress.insert(key);
    bool ok = Expand(raw, in_progress, depth, out, height, error);
    in_progress.erase(key);
    if (ok) cache_[key] = Resolved{out, height};
    return ok;
  }

 private:
  struct Resolved {
    std::string value;
    int height = 0;
  };

  static bool CheckDepth(int depth, std::string& error) {
    if (depth <= kMaxDepth) return true;
    error = "substitution nests deeper than " + std::to_string(kMaxDepth) + " levels";
    return false;
  }

  const Properties& props_;
  const std::function<std::optional<std::string>(std::string_view)>& fallback_;
  std::map<std::string, Resolved> cache_;
};

}  // namespace

ResolvedProperties ResolveSubstitutions(
    const Properties& props,
    const std::function<std::optional<std::string>(std::string_view key)>& fallback) {
  ResolvedProperties result;
  Resolver resolver(props, fallback);
  for (const auto& [key, entry] : props.entries) {
    std::set<std::string> in_progress;
    std::string value, error;
    int height = 0;
    if (resolver.Lookup(key, in_progress, 0, value, height, error)) {
      result.values[key] = std::move(value);
    } else {
      result.problems.push_back({entry.line, key, error});
    }
  }
  return result;
}

}  // namespace ibpath
