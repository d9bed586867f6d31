#include "mmds/merge_patch.h"

#include <gtest/gtest.h>

#include <string>

#include "mmds/json_tools.h"

namespace ember {
namespace {

using nlohmann::json;

// Firecracker's test_json_patch case.
TEST(MergePatchTest, FirecrackersCase) {
  json data = json::parse(R"({"name": {"first": "John", "second": "Doe"}, "age": "43",
      "phones": {"home": {"RO": "+40 1234567", "UK": "+44 1234567"}, "mobile": "+44 2345678"}})");
  json patch = json::parse(R"({"name": {"second": null, "last": "Kennedy"}, "age": "44",
      "phones": {"home": "+44 1234567", "mobile": {"RO": "+40 2345678", "UK": "+44 2345678"}}})");
  merge_patch(data, patch);
  EXPECT_EQ(data, json::parse(R"({"name": {"first": "John", "last": "Kennedy"}, "age": "44",
      "phones": {"home": "+44 1234567", "mobile": {"RO": "+40 2345678", "UK": "+44 2345678"}}})"));
}

// RFC 7396 Appendix A, every example.
TEST(MergePatchTest, Rfc7396AppendixA) {
  const char* cases[][3] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    json target = json::parse(c[0]);
    merge_patch(target, json::parse(c[1]));
    EXPECT_EQ(target, json::parse(c[2])) << c[0] << " + " << c[1];
  }
}

TEST(MergePatchTest, PatchValuesAreCopiedNotShared) {
  json target = json::object();
  json patch = json::parse(R"({"a":[1,{"b":2}]})");
  merge_patch(target, patch);
  patch["a"][1]["b"] = 3;
  EXPECT_EQ(target["a"][1]["b"], 2);
}

// A 50 KiB body nests ~25000 deep: no recursion may follow that depth. 200000 levels would
// overflow the stack of a recursive walk (and of nlohmann's own copy and dump).
TEST(MergePatchTest, DeepNestingNeedsNoRecursion) {
  constexpr int kDepth = 200000;
  std::string text;
  for (int i = 0; i < kDepth; ++i) text += R"({"k":)";
  text += "1";
  text.append(kDepth, '}');
  json patch = json::parse(text);
  json target = json::object();
  merge_patch(target, patch);
  EXPECT_EQ(dump_compact(target), text);

  std::string arrays(kDepth, '[');
  arrays.append(kDepth, ']');
  merge_patch(target, json::parse(arrays));  // a non-object patch: replaced by a copy
  EXPECT_EQ(dump_compact(target), arrays);
  json copy = copy_json(target);
  EXPECT_EQ(dump_compact(copy), arrays);
}

TEST(JsonToolsTest, DumpCompactMatchesNlohmann) {
  json value = json::parse(R"({"b":[1,-2,3.5,true,false,null,"x\"y\n\u0001"],"a":{},"c":[],
      "d":{"e":{"f":"g"}},"\u00e9":"\u00fc"})");
  EXPECT_EQ(dump_compact(value), value.dump());
  EXPECT_EQ(copy_json(value), value);
  EXPECT_EQ(dump_compact(json()), "null");
  EXPECT_EQ(dump_compact(json("s")), "\"s\"");
  // Bytes that are not UTF-8 do not throw.
  EXPECT_EQ(dump_compact(json(std::string("\xff"))), "\"\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace ember
