#include "mmds/data_store.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "mmds/json_tools.h"

namespace ember {
namespace {

using nlohmann::json;

class FakeClock final : public MonotonicClock {
 public:
  [[nodiscard]] uint64_t now_ns() const override { return now; }
  uint64_t now = 5'000'000'000;
};

TEST(MmdsDataStoreTest, DefaultsAreFirecrackers) {
  MmdsDataStore store;
  EXPECT_EQ(store.version(), MmdsVersion::kV1);
  EXPECT_FALSE(store.imds_compat());
  EXPECT_EQ(store.size_limit(), 51200u);
  EXPECT_EQ(store.get(), json::object());
  store.configure(MmdsVersion::kV2, true);
  EXPECT_EQ(store.version(), MmdsVersion::kV2);
  EXPECT_TRUE(store.imds_compat());
  store.configure(MmdsVersion::kV1, false);
  EXPECT_EQ(store.version(), MmdsVersion::kV1);
}

// Firecracker's test_mmds.
TEST(MmdsDataStoreTest, PatchNeedsAPutFirst) {
  MmdsDataStore store;
  auto r = store.patch(json::parse(R"({"a":1})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalid);
  EXPECT_EQ(r.error().message, "The MMDS data store is not initialized.");
  EXPECT_EQ(store.get(), json::object());

  const std::string data = R"({"meta-data":{"iam":"dummy"},"user-data":"1522850095"})";
  ASSERT_TRUE(store.put(json::parse(data)).ok());
  EXPECT_EQ(store.get().dump(), data);
  ASSERT_TRUE(store.patch(json::parse(R"({"user-data":"10"})")).ok());
  EXPECT_EQ(store.get().dump(), R"({"meta-data":{"iam":"dummy"},"user-data":"10"})");
  // A put replaces, whatever was there.
  ASSERT_TRUE(store.put(json::parse(R"({"x":[1]})")).ok());
  EXPECT_EQ(store.get().dump(), R"({"x":[1]})");
}

// Firecracker's test_update_data_store: the limit counts the compact serialisation.
TEST(MmdsDataStoreTest, SizeLimitOnPatch) {
  MmdsDataStore store;
  ASSERT_TRUE(
      store.put(json::parse(R"({"name":{"first":"John","second":"Doe"},"age":"43"})")).ok());
  ASSERT_TRUE(store.patch(json::parse(R"({"name":{"second":null},"age":"43"})")).ok());
  ASSERT_TRUE(store.patch(json{{"new_key", std::string(51151, 'X')}}).ok());
  auto r = store.patch(json::parse(R"({"new_key2":"smth"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTooLarge);
  EXPECT_EQ(r.error().message, "The MMDS patch request doesn't fit.");
  EXPECT_EQ(store.get().dump().find("smth"), std::string::npos);  // unchanged

  ASSERT_TRUE(store.patch(json::parse(R"({"new_key":"smth"})")).ok());
  EXPECT_EQ(store.get().dump().size(), 53u);
  ASSERT_TRUE(store.patch(json::parse(R"({"new_key2":"smth2"})")).ok());
  EXPECT_EQ(store.get().dump().size(), 72u);
}

// Firecracker's test_put_size_limit, and the exact edge.
TEST(MmdsDataStoreTest, SizeLimitOnPut) {
  MmdsDataStore store;
  auto r = store.put(json{{"key", std::string(51300, 'X')}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTooLarge);
  EXPECT_EQ(store.get().dump().size(), 2u);

  MmdsDataStore small(20);
  // {"k":"...."} is 8 bytes plus the string.
  EXPECT_TRUE(small.put(json{{"k", std::string(12, 'a')}}).ok());
  EXPECT_FALSE(small.put(json{{"k", std::string(13, 'a')}}).ok());
  EXPECT_EQ(small.get(), (json{{"k", std::string(12, 'a')}}));
  EXPECT_FALSE(small.patch(json{{"k", std::string(13, 'a')}}).ok());
  EXPECT_EQ(small.get(), (json{{"k", std::string(12, 'a')}}));
}

// Firecracker's test_get_value, in both formats and with imds_compat.
TEST(MmdsDataStoreTest, GetValueFormats) {
  for (bool compat : {false, true}) {
    MmdsDataStore store;
    store.configure(MmdsVersion::kV1, compat);
    ASSERT_TRUE(store
                    .put(json::parse(R"({"name":{"first":"John","second":"Doe"},"age":43,
        "phones":["+401234567","+441234567"],"member":false,"shares_percentage":12.12,
        "balance":-24,"json_string":"{\n  \"hello\": \"world\"\n}"})"))
                    .ok());
    for (MmdsFormat format : {MmdsFormat::kImds, MmdsFormat::kJson}) {
      SCOPED_TRACE(std::string(compat ? "compat " : "") +
                   (format == MmdsFormat::kJson ? "json" : "imds"));
      const bool imds = compat || format == MmdsFormat::kImds;
      auto missing = store.get_value("/invalid_path", format);
      ASSERT_FALSE(missing.ok());
      EXPECT_TRUE(is_mmds_not_found(missing.error()));
      EXPECT_EQ(missing.error().message, "The MMDS resource does not exist.");

      EXPECT_EQ(store.get_value("/name", format).value(),
                imds ? "first\nsecond" : R"({"first":"John","second":"Doe"})");
      for (const char* path :
           {"/age", "/phones/", "/phones", "/member", "/shares_percentage", "/balance"}) {
        auto r = store.get_value(path, format);
        if (imds) {
          ASSERT_FALSE(r.ok()) << path;
          EXPECT_TRUE(is_mmds_unsupported_type(r.error())) << path;
          EXPECT_FALSE(is_mmds_not_found(r.error()));
          EXPECT_EQ(r.error().message, "Cannot retrieve value. The value has an unsupported type.");
        } else {
          ASSERT_TRUE(r.ok()) << path;
        }
      }
      if (!imds) {
        EXPECT_EQ(store.get_value("/age", format).value(), "43");
        EXPECT_EQ(store.get_value("/phones/", format).value(), R"(["+401234567","+441234567"])");
        EXPECT_EQ(store.get_value("/member", format).value(), "false");
        EXPECT_EQ(store.get_value("/shares_percentage", format).value(), "12.12");
        EXPECT_EQ(store.get_value("/balance", format).value(), "-24");
      }
      EXPECT_EQ(store.get_value("/phones/0/", format).value(),
                imds ? "+401234567" : "\"+401234567\"");
      EXPECT_EQ(store.get_value("/json_string", format).value(),
                imds ? "{\n  \"hello\": \"world\"\n}" : R"("{\n  \"hello\": \"world\"\n}")");
      // The root, as "/" (the trailing "/" dropped leaves "", the whole document).
      EXPECT_EQ(store.get_value("/", format).value(),
                imds ? "age\nbalance\njson_string\nmember\nname/\nphones\nshares_percentage"
                     : store.get().dump());
    }
  }
}

TEST(MmdsDataStoreTest, GetValueJsonPointerRules) {
  MmdsDataStore store;
  ASSERT_TRUE(store
                  .put(json::parse(R"({"a/b":"slash","m~n":"tilde","~2":"stray",
      "arr":["zero","one"],"":{"":"empty keys"},"obj":{"x":{"y":"z"},"s":"t"}})"))
                  .ok());
  const auto json_fmt = MmdsFormat::kJson;
  EXPECT_EQ(store.get_value("/a~1b", json_fmt).value(), "\"slash\"");
  EXPECT_EQ(store.get_value("/m~0n", json_fmt).value(), "\"tilde\"");
  // serde_json leaves a "~" that escapes nothing as it is, so the key is found.
  EXPECT_EQ(store.get_value("/~2", json_fmt).value(), "\"stray\"");
  EXPECT_EQ(store.get_value("/arr/1", json_fmt).value(), "\"one\"");
  EXPECT_EQ(store.get_value("/obj/x/y", MmdsFormat::kImds).value(), "z");
  EXPECT_EQ(store.get_value("/obj", MmdsFormat::kImds).value(), "s\nx/");
  EXPECT_EQ(store.get_value("/obj/", MmdsFormat::kImds).value(), "s\nx/");
  for (const char* missing : {"/arr/2", "/arr/01", "/arr/-", "/arr/+1", "/arr/-1", "/arr/x",
                              "/arr/1/0", "/obj/s/t", "/nope", "/a/b", "/m~1n", "/obj/x/y/z",
                              "/arr/18446744073709551616", "noslash", "/obj//x"}) {
    auto r = store.get_value(missing, json_fmt);
    ASSERT_FALSE(r.ok()) << missing;
    EXPECT_TRUE(is_mmds_not_found(r.error())) << missing;
  }
  // A trailing "/" is dropped once: "/arr/" is the array, "/" the root, "//" the root's ""
  // member and "///" that member's "" member.
  EXPECT_EQ(store.get_value("/arr/", json_fmt).value(), R"(["zero","one"])");
  EXPECT_EQ(store.get_value("/", json_fmt).value(), store.get().dump());
  EXPECT_EQ(store.get_value("//", json_fmt).value(), R"({"":"empty keys"})");
  EXPECT_EQ(store.get_value("///", json_fmt).value(), "\"empty keys\"");
}

TEST(MmdsDataStoreTest, EmptyStoreReadsNull) {
  // Firecracker's data store is null until a put (a restored VM reads "null").
  MmdsDataStore store;
  EXPECT_EQ(store.get_value("/", MmdsFormat::kJson).value(), "null");
  auto imds = store.get_value("/", MmdsFormat::kImds);
  ASSERT_FALSE(imds.ok());
  EXPECT_TRUE(is_mmds_unsupported_type(imds.error()));
  EXPECT_TRUE(is_mmds_not_found(store.get_value("/a", MmdsFormat::kJson).error()));
  // A put of null keeps the API's view {}.
  ASSERT_TRUE(store.put(json()).ok());
  EXPECT_EQ(store.get(), json::object());
  ASSERT_TRUE(store.patch(json::parse(R"({"a":1})")).ok());
  EXPECT_EQ(store.get().dump(), R"({"a":1})");
}

TEST(MmdsDataStoreTest, TokensGoThroughTheStore) {
  FakeClock clock;
  MmdsDataStore store(MmdsDataStore::kDefaultSizeLimit, clock);
  auto bad = store.generate_token(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "Invalid time to live value provided for token: 0. Please provide a value between 1 "
            "and 21600.");
  std::string token = store.generate_token(2).value();
  EXPECT_TRUE(store.is_valid_token(token));
  EXPECT_FALSE(store.is_valid_token("foo"));
  clock.now += 2'000'000'000;
  EXPECT_FALSE(store.is_valid_token(token));
}

TEST(MmdsDataStoreTest, DeepDocumentsNeedNoRecursion) {
  // 25000 levels fit the default limit; put, patch, get and get_value all walk them.
  constexpr int kDepth = 25000;
  std::string text;
  for (int i = 0; i < kDepth; ++i) text += "[";
  text.append(kDepth, ']');
  MmdsDataStore store;
  ASSERT_TRUE(store.put(json::object()).ok());
  ASSERT_TRUE(store.patch(json{{"deep", json::parse(text)}}).ok());
  EXPECT_EQ(dump_compact(store.get()), R"({"deep":)" + text + "}");
  EXPECT_EQ(store.get_value("/deep", MmdsFormat::kJson).value(), text);
  // Just over the limit, nested: refused, store unchanged.
  std::string too_big;
  for (int i = 0; i < 26000; ++i) too_big += R"({"a":)";
  too_big += "1";
  too_big.append(26000, '}');
  EXPECT_EQ(store.put(json::parse(too_big)).error().kind, ErrorKind::kTooLarge);
  EXPECT_EQ(store.patch(json::parse(too_big)).error().kind, ErrorKind::kTooLarge);
  EXPECT_EQ(store.get_value("/deep/0/0/0", MmdsFormat::kJson).value().size(),
            static_cast<size_t>(2 * (kDepth - 3)));
}

TEST(MmdsDataStoreTest, ConcurrentWritersAndReaders) {
  MmdsDataStore store;
  ASSERT_TRUE(store.put(json::object()).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE(store.patch(json{{"k" + std::to_string(t), i}}).ok());
        (void)store.get_value("/", MmdsFormat::kJson);
        (void)store.get();
        ASSERT_TRUE(store.generate_token(60).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(store.get(), (json{{"k0", 199}, {"k1", 199}, {"k2", 199}, {"k3", 199}}));
}

}  // namespace
}  // namespace ember
