// The field reader every body parser shares: its rules (null is absent, unknown fields and wrong
// types refused, integers of the right sign) and the names its messages give.
#include "api/json_fields.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

namespace ember::api_detail {
namespace {

using nlohmann::json;

// The error message of a result that must have failed.
template <class T>
std::string error_of(const Result<T>& r) {
  EXPECT_FALSE(r.ok());
  return r.ok() ? std::string() : r.error().message;
}

TEST(JsonFields, NullIsAbsentForEveryKind) {
  const json obj = json::parse(R"({"s": null, "p": null, "b": null, "n": null, "o": null, "a": null})");
  const JsonFields f(obj, "thing");
  EXPECT_FALSE(f.has("s"));
  EXPECT_FALSE(f.has("missing"));
  EXPECT_FALSE(f.optional_string("s").value());
  EXPECT_FALSE(f.optional_path("p").value());
  EXPECT_FALSE(f.optional_boolean("b").value());
  EXPECT_FALSE(f.optional_unsigned_integer("n").value());
  EXPECT_EQ(f.optional_object("o").value(), nullptr);
  EXPECT_EQ(f.optional_array("a").value(), nullptr);
}

// Errors are serde's words behind Firecracker's prefix (what Firecracker's clients match).
const std::string kPrefix = "An error occurred when deserializing the json body of a request: ";

TEST(JsonFields, RequiredFieldAbsentOrNull) {
  const json obj = json::parse(R"({"given_null": null})");
  const JsonFields f(obj, "thing");
  EXPECT_EQ(error_of(f.string("absent")), kPrefix + "missing field `absent`");
  // A nested object names itself after serde's words.
  const JsonFields nested(obj, "thing.inner");
  EXPECT_EQ(error_of(nested.string("absent")), kPrefix + "missing field `absent` in thing.inner");
  const std::string given_null = kPrefix + "missing field `given_null` (null counts as absent)";
  for (const std::string& message : {error_of(f.string("given_null")), error_of(f.path("given_null")),
                                     error_of(f.boolean("given_null")), error_of(f.unsigned_integer("given_null"))})
    EXPECT_EQ(message, given_null);
}

TEST(JsonFields, ReadsValues) {
  const json obj = json::parse(R"({"s": "text", "p": "/a/b", "b": true, "n": 18446744073709551615,
                                   "o": {"x": 1}, "a": [1, 2]})");
  const JsonFields f(obj, "thing");
  EXPECT_TRUE(f.has("s"));
  EXPECT_EQ(f.string("s").value(), "text");
  EXPECT_EQ(f.path("p").value(), "/a/b");
  EXPECT_TRUE(f.boolean("b").value());
  EXPECT_EQ(f.unsigned_integer("n").value(), UINT64_MAX);
  ASSERT_NE(f.optional_object("o").value(), nullptr);
  EXPECT_EQ(f.optional_array("a").value()->size(), 2u);
  EXPECT_EQ(f.name("s"), "thing.s");
}

TEST(JsonFields, WrongTypesAreNamed) {
  const json obj = json::parse(R"({"i": 1, "s": "x", "o": [], "a": {}})");
  const JsonFields f(obj, "thing");
  EXPECT_EQ(error_of(f.string("i")), kPrefix + "invalid type: integer `1`, expected a string (thing.i)");
  EXPECT_EQ(error_of(f.boolean("s")), kPrefix + "invalid type: string \"x\", expected a boolean (thing.s)");
  EXPECT_EQ(error_of(f.unsigned_integer("s")), kPrefix + "invalid type: string \"x\", expected u64 (thing.s)");
  EXPECT_EQ(error_of(f.optional_object("o")), kPrefix + "invalid type: sequence, expected a map (thing.o)");
  EXPECT_EQ(error_of(f.optional_array("a")), kPrefix + "invalid type: map, expected a sequence (thing.a)");
}

TEST(JsonFields, IntegersOfTheRightSign) {
  const json obj = json::parse(R"({"neg": -1, "one": 1.0, "exp": 1e3, "frac": 2.5, "big": 18446744073709551616})");
  const JsonFields f(obj, "thing");
  EXPECT_EQ(error_of(f.unsigned_integer("neg")), kPrefix + "invalid value: integer `-1`, expected u64 (thing.neg)");
  // Firecracker's test_api_machine_config matches "invalid type" for 2^64.
  for (const char* key : {"one", "exp", "frac", "big"})
    EXPECT_TRUE(error_of(f.unsigned_integer(key)).starts_with(kPrefix + "invalid type: floating point `")) << key;
}

TEST(JsonFields, PathsAreNonEmptyWithoutNul) {
  const json obj = json::parse(R"({"empty": "", "nul": "/a\u0000b"})");
  const JsonFields f(obj, "thing");
  EXPECT_EQ(error_of(f.path("empty")), "thing.empty must not be empty");
  EXPECT_EQ(error_of(f.optional_path("nul")), "thing.nul must not contain a NUL character");
}

TEST(JsonFields, UnknownFieldsAreRefusedEvenWhenNull) {
  const json obj = json::parse(R"({"known": 1, "other": null})");
  const JsonFields f(obj, "thing");
  EXPECT_EQ(error_of(f.allow_only({"known"})), kPrefix + "unknown field `other`, expected `known`");
  EXPECT_EQ(error_of(f.allow_only({"a", "b", "c"})), kPrefix + "unknown field `known`, expected one of `a`, `b`, `c`");
  EXPECT_TRUE(f.allow_only({"known", "other"}).ok());
}

TEST(JsonFields, QuotedValuesAreShortAndPrintable) {
  EXPECT_EQ(quote_value("ab"), "'ab'");
  EXPECT_EQ(quote_value(std::string("a\nb\xff", 4)), "'a?b?'");
  EXPECT_EQ(quote_value(std::string(100, 'x')), "'" + std::string(64, 'x') + "...'");
}

}  // namespace
}  // namespace ember::api_detail
