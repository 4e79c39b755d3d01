#include "collectors/source/properties.h"

#include <gtest/gtest.h>

namespace ibpath {
namespace {

using Entries = std::map<std::string, PropertyEntry>;

// Each case is what java.util.Properties.load(Reader) yields for the text
// (checked against OpenJDK's LineReader/loadConvert rules).
struct ParseCase {
  const char* name;
  std::string text;
  Entries want;
};
// Names the case in test output instead of dumping the struct's bytes.
void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class ParseTable : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseTable, MatchesJavaProperties) {
  const ParseCase& c = GetParam();
  Properties p = ParseProperties(c.text);
  EXPECT_EQ(p.entries, c.want);
  EXPECT_TRUE(p.problems.empty()) << p.problems.front().message;
}

INSTANTIATE_TEST_SUITE_P(
    Properties, ParseTable,
    ::testing::Values(
        ParseCase{"equals", "alluxio.a=1\n", {{"alluxio.a", {"1", 1}}}},
        ParseCase{"colon", "alluxio.a:1", {{"alluxio.a", {"1", 1}}}},
        ParseCase{"blank_separator", "alluxio.a   1 2", {{"alluxio.a", {"1 2", 1}}}},
        ParseCase{"spaces_around_separator", "  alluxio.a \t= \f 1 ", {{"alluxio.a", {"1 ", 1}}}},
        ParseCase{"blank_then_equals_value_keeps_second_equals",
                  "alluxio.a = =x",
                  {{"alluxio.a", {"=x", 1}}}},
        ParseCase{"comments_and_blank_lines",
                  "# c\n! c\n\n   \n  # indented\nalluxio.a=1",
                  {{"alluxio.a", {"1", 6}}}},
        ParseCase{"key_without_value", "alluxio.a\n", {{"alluxio.a", {"", 1}}}},
        ParseCase{"continuation_drops_indent",
                  "alluxio.a=one, \\\n     two\n",
                  {{"alluxio.a", {"one, two", 1}}}},
        ParseCase{"even_backslashes_do_not_continue",
                  "alluxio.a=x\\\\\nalluxio.b=y",
                  {{"alluxio.a", {"x\\", 1}}, {"alluxio.b", {"y", 2}}}},
        ParseCase{"comment_never_continues", "# note \\\nalluxio.a=1", {{"alluxio.a", {"1", 2}}}},
        ParseCase{"crlf_and_cr",
                  "alluxio.a=1\r\nalluxio.b=2\ralluxio.c=3",
                  {{"alluxio.a", {"1", 1}}, {"alluxio.b", {"2", 2}}, {"alluxio.c", {"3", 3}}}},
        ParseCase{"escaped_separator_in_key", "alluxio.a\\=b\\ c=v", {{"alluxio.a=b c", {"v", 1}}}},
        ParseCase{"escapes", "alluxio.a=\\t\\n\\r\\f\\\\\\q", {{"alluxio.a", {"\t\n\r\f\\q", 1}}}},
        ParseCase{
            "unicode", "alluxio.a=\\u00e9\\u4E2D", {{"alluxio.a", {"\xC3\xA9\xE4\xB8\xAD", 1}}}},
        ParseCase{
            "surrogate_pair", "alluxio.a=\\uD83D\\uDE00", {{"alluxio.a", {"\xF0\x9F\x98\x80", 1}}}},
        ParseCase{"later_definition_wins", "alluxio.a=1\nalluxio.a=2", {{"alluxio.a", {"2", 2}}}},
        ParseCase{"trailing_backslash_at_eof", "alluxio.a=1\\", {{"alluxio.a", {"1", 1}}}},
        ParseCase{"continuation_line_number_is_first",
                  "\nalluxio.a=1\\\n2\nalluxio.b=3",
                  {{"alluxio.a", {"12", 2}}, {"alluxio.b", {"3", 4}}}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Properties, BadLinesAreReportedAndSkippedNotFatal) {
  Properties p = ParseProperties(
      "alluxio.good=1\n"
      "alluxio.bad=\\u12G4\n"
      "=orphan\n"
      "fs.s3a.key=secret\n"
      "alluxio.also.good=2\n");
  EXPECT_EQ(p.entries, (Entries{{"alluxio.good", {"1", 1}}, {"alluxio.also.good", {"2", 5}}}));
  ASSERT_EQ(p.problems.size(), 3u);
  EXPECT_EQ(p.problems[0].line, 2);
  EXPECT_EQ(p.problems[0].key, "alluxio.bad");
  EXPECT_NE(p.problems[0].message.find("\\uXXXX"), std::string::npos);
  EXPECT_EQ(p.problems[1].line, 3);
  EXPECT_EQ(p.problems[2].line, 4);
  EXPECT_EQ(p.problems[2].key, "fs.s3a.key");
}

TEST(Properties, TruncatedUnicodeEscapeIsAProblem) {
  Properties p = ParseProperties("alluxio.a=\\u12");
  EXPECT_TRUE(p.entries.empty());
  ASSERT_EQ(p.problems.size(), 1u);
}

std::optional<std::string> NoDefaults(std::string_view) { return std::nullopt; }

TEST(Substitution, RecursiveAndFromDefaults) {
  Properties p = ParseProperties(
      "alluxio.a=${alluxio.b}/x\n"
      "alluxio.b=${alluxio.c}-${alluxio.c}\n"
      "alluxio.c=c\n"
      "alluxio.d=${alluxio.home}/conf\n");
  auto defaults = [](std::string_view key) -> std::optional<std::string> {
    if (key == "alluxio.home") return "${alluxio.root}/alluxio";
    if (key == "alluxio.root") return "/opt";
    return std::nullopt;
  };
  ResolvedProperties r = ResolveSubstitutions(p, defaults);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.values.at("alluxio.a"), "c-c/x");
  EXPECT_EQ(r.values.at("alluxio.d"), "/opt/alluxio/conf");
}

TEST(Substitution, FileValueBeatsDefault) {
  Properties p = ParseProperties("alluxio.home=/srv/a\nalluxio.d=${alluxio.home}/conf");
  auto defaults = [](std::string_view) -> std::optional<std::string> { return "/opt/alluxio"; };
  EXPECT_EQ(ResolveSubstitutions(p, defaults).values.at("alluxio.d"), "/srv/a/conf");
}

TEST(Substitution, CycleAndUnknownFailOnlyTheirKeys) {
  Properties p = ParseProperties(
      "alluxio.x=${alluxio.y}\n"
      "alluxio.y=${alluxio.x}\n"
      "alluxio.self=${alluxio.self}\n"
      "alluxio.u=${alluxio.nope}\n"
      "alluxio.worker.data.bind.device=ib0\n"
      "alluxio.literal=${not closed\n");
  ResolvedProperties r = ResolveSubstitutions(p, NoDefaults);
  EXPECT_EQ(r.values,
            (std::map<std::string, std::string>{{"alluxio.worker.data.bind.device", "ib0"},
                                                {"alluxio.literal", "${not closed"}}));
  ASSERT_EQ(r.problems.size(), 4u);
  for (const PropertyProblem& problem : r.problems) {
    if (problem.key == "alluxio.u") {
      EXPECT_EQ(problem.line, 4);
      EXPECT_NE(problem.message.find("unknown key ${alluxio.nope}"), std::string::npos);
    } else {
      EXPECT_NE(problem.message.find("cycle"), std::string::npos) << problem.key;
    }
  }
}

TEST(Substitution, ExponentialExpansionIsBounded) {
  // Each level doubles the previous one: 2^40 bytes if expanded naively.
  std::string text = "alluxio.k0=xxxxxxxxxxxxxxxx\n";
  for (int i = 1; i <= 40; ++i) {
    text += "alluxio.k" + std::to_string(i) + "=${alluxio.k" + std::to_string(i - 1) +
            "}${alluxio.k" + std::to_string(i - 1) + "}\n";
  }
  ResolvedProperties r = ResolveSubstitutions(ParseProperties(text), NoDefaults);
  EXPECT_EQ(r.values.at("alluxio.k1").size(), 32u);
  EXPECT_FALSE(r.values.contains("alluxio.k40"));
  EXPECT_FALSE(r.problems.empty());
  for (const auto& [key, value] : r.values) EXPECT_LE(value.size(), 64u * 1024) << key;
}

TEST(Substitution, DeepChainIsBounded) {
  std::string text = "alluxio.k0=end\n";
  for (int i = 1; i <= 100; ++i) {
    text += "alluxio.k" + std::to_string(i) + "=${alluxio.k" + std::to_string(i - 1) + "}\n";
  }
  ResolvedProperties r = ResolveSubstitutions(ParseProperties(text), NoDefaults);
  // Keys are visited in map order (k0, k1, k10, k100, ...), so caching must not
  // decide the outcome: exactly the keys nested deeper than 32 levels fail.
  for (int i = 0; i <= 100; ++i) {
    EXPECT_EQ(r.values.contains("alluxio.k" + std::to_string(i)), i <= 32) << i;
  }
  EXPECT_EQ(r.values.at("alluxio.k32"), "end");
  EXPECT_EQ(r.problems.size(), 68u);
}

}  // namespace
}  // namespace ibpath
