// Firecracker v1.16.1's MMDS tests, the parts that talk to the API (the real `ember` binary, the
// ticker guest): test_api.py's test_api_mmds_config, and from test_mmds.py test_mmds_dummy,
// test_mmds_limit_scenario and test_deprecated_mmds_config, up to what needs a guest network.
// What the guest reads over HTTP is tested in tests/unit/mmds/ (the HTTP service and the TCP/IP
// stack, through virtio-net in tests/unit/devices/virtio/net/) and end to end with Debian's
// kernel (tests/e2e, scenarios mmds, mmds_flintlock, mmds_clone): an InstanceStart with a
// network interface needs a tap, which these tests may not create on the host (TESTING.md).
#include <nlohmann/json.hpp>

#include "tests/kvm/fc_test_util.h"

namespace ember::test {
namespace {

using json = nlohmann::json;

class FcTestMmds : public FcMicrovm {
 protected:
  void add_net_iface() {
    accepted("PUT", "/network-interfaces/1",
             R"({"iface_id": "1", "guest_mac": "06:00:00:00:00:01", "host_dev_name": "tap1"})");
  }
  json vm_config() { return json::parse(call("GET", "/vm/config").body); }
  json mmds() { return json::parse(call("GET", "/mmds").body); }
  // Answered with `status` and a fault_message holding `needle`.
  void refused_with(int status, const std::string& method, const std::string& path, const std::string& body,
                    const std::string& needle) {
    const ApiResponse r = call(method, path, body);
    EXPECT_EQ(r.status, status) << method << " " << path << " -> " << r.body;
    EXPECT_NE(r.body.find(needle), std::string::npos) << r.body << "\n  expected: " << needle;
  }
};

TEST_F(FcTestMmds, TestApiMmdsConfig) {
  basic_config();
  refused("PUT", "/mmds/config", R"({"network_interfaces": []})",
          "The list of network interface IDs that allow forwarding MMDS requests is empty.");
  refused("PUT", "/mmds/config", R"({"network_interfaces": ["foo"]})",
          "The list of network interface IDs provided contains at least one ID that does not correspond to any "
          "existing network interface.");
  add_net_iface();
  refused("PUT", "/mmds/config", R"({"network_interfaces": ["1", "foo"]})",
          "The list of network interface IDs provided contains at least one ID that does not correspond to any "
          "existing network interface.");
  refused("PUT", "/mmds/config", R"({"version": "foo", "network_interfaces": ["1"]})",
          "An error occurred when deserializing the json body of a request: unknown variant `foo`, expected `V1` "
          "or `V2`");
  // Not link-local (RFC 3927): Firecracker's MmdsConfigError::InvalidIpv4Addr.
  refused("PUT", "/mmds/config", R"({"network_interfaces": ["1"], "ipv4_address": "10.0.0.1"})",
          "The MMDS IPv4 address is not link local.");
  EXPECT_TRUE(vm_config()["mmds-config"].is_null()) << "nothing was applied";

  accepted("PUT", "/mmds/config", R"({"network_interfaces": ["1"]})");
  EXPECT_EQ(vm_config()["mmds-config"]["version"], "V1");
  EXPECT_EQ(vm_config()["mmds-config"]["ipv4_address"], "169.254.169.254");
  accepted("PUT", "/mmds/config", R"({"ipv4_address": "169.254.169.250", "network_interfaces": ["1"]})");
  EXPECT_EQ(vm_config()["mmds-config"]["ipv4_address"], "169.254.169.250");
  accepted("PUT", "/mmds/config",
           R"({"version": "V2", "ipv4_address": "169.254.169.250", "network_interfaces": ["1"]})");
  const json cfg = vm_config()["mmds-config"];
  EXPECT_EQ(cfg, json::parse(R"({"version": "V2", "network_interfaces": ["1"],
                                 "ipv4_address": "169.254.169.250", "imds_compat": false})"));
}

TEST_F(FcTestMmds, TestMmdsDummy) {
  add_net_iface();
  accepted("PUT", "/mmds/config", R"({"version": "V2", "network_interfaces": ["1"]})");
  EXPECT_EQ(mmds(), json::object()) << "the MMDS is empty at this point";
  refused("PATCH", "/mmds", R"({"latest": {"meta-data": {"ami-id": "dummy"}}})",
          "The MMDS data store is not initialized.");
  const json dummy = json::parse(R"({"latest": {"meta-data": {"ami-id": "dummy"}}})");
  accepted("PUT", "/mmds", dummy.dump());
  EXPECT_EQ(mmds(), dummy);
  EXPECT_EQ(mmds(), dummy);
  const json patched = json::parse(R"({"latest": {"meta-data": {"ami-id": "another_dummy",
                                                                "secret_key": "eaasda48141411aeaeae"}}})");
  accepted("PATCH", "/mmds", patched.dump());
  EXPECT_EQ(mmds(), patched);
  // RFC 7396: null removes a member.
  accepted("PATCH", "/mmds", R"({"latest": {"meta-data": {"secret_key": null}}})");
  EXPECT_EQ(mmds(), json::parse(R"({"latest": {"meta-data": {"ami-id": "another_dummy"}}})"));
  // Malformed JSON: 400, the store unchanged.
  refused("PUT", "/mmds", R"({"latest": )", "An error occurred when deserializing the json body of a request");
  EXPECT_EQ(mmds(), json::parse(R"({"latest": {"meta-data": {"ami-id": "another_dummy"}}})"));
}

TEST_F(FcTestMmds, TestMmdsLimitScenario) {
  spawn({"--http-api-max-payload-size", "512000", "--mmds-size-limit", "51200"});
  add_net_iface();
  accepted("PUT", "/mmds/config", R"({"version": "V2", "network_interfaces": ["1"]})");
  const json dummy = json::parse(R"({"latest": {"meta-data": {"ami-id": "dummy"}}})");
  accepted("PUT", "/mmds", dummy.dump());
  // Over the limit: Firecracker's 413 Payload Too Large, the store unchanged.
  json large = {{"latest", {{"meta-data", {{"ami-id", "smth"}, {"secret_key", std::string(51200, 'a')}}}}}};
  refused_with(413, "PUT", "/mmds", large.dump(), "MMDS limit exceeded error: The MMDS patch request doesn't fit.");
  EXPECT_EQ(mmds(), dummy);
  // Close to the limit fits (the store's compact form is then 51195 bytes)...
  json fill = {{"latest", {{"meta-data", {{"ami-id", "smth"}, {"secret_key", std::string(51137, 'a')}}}}}};
  accepted("PATCH", "/mmds", fill.dump());
  EXPECT_EQ(call("GET", "/mmds").body.size(), 51195u);
  // ... and one more member does not.
  json more = {{"latest", {{"meta-data", {{"ami-id", "smth"}, {"secret_key2", std::string(10, 'b')}}}}}};
  refused_with(413, "PATCH", "/mmds", more.dump(), "The MMDS patch request doesn't fit.");
  EXPECT_EQ(mmds(), fill);
  // The limit is inclusive: 51200 bytes exactly fit, 51201 do not.
  fill["latest"]["meta-data"]["secret_key"] = std::string(51142, 'a');
  accepted("PUT", "/mmds", fill.dump());
  fill["latest"]["meta-data"]["secret_key"] = std::string(51143, 'a');
  refused_with(413, "PUT", "/mmds", fill.dump(), "The MMDS patch request doesn't fit.");
}

TEST_F(FcTestMmds, TestDeprecatedMmdsConfig) {
  basic_config();
  add_net_iface();
  const RawResponse by_default = raw_request(sock_, "PUT", "/mmds/config", R"({"network_interfaces": ["1"]})");
  EXPECT_EQ(by_default.status, 204) << by_default.body;
  EXPECT_NE(by_default.headers.find("\r\ndeprecation: true"), std::string::npos) << by_default.headers;
  EXPECT_TRUE(ember_->wait_for_output("PUT /mmds/config: V1 is deprecated. Use V2 instead.", 5s, true));
  const RawResponse v1 = raw_request(sock_, "PUT", "/mmds/config", R"({"network_interfaces": ["1"], "version": "V1"})");
  EXPECT_NE(v1.headers.find("\r\ndeprecation: true"), std::string::npos) << v1.headers;
  const RawResponse v2 = raw_request(sock_, "PUT", "/mmds/config", R"({"network_interfaces": ["1"], "version": "V2"})");
  EXPECT_EQ(v2.status, 204);
  EXPECT_EQ(v2.headers.find("deprecation"), std::string::npos) << v2.headers;
}

// test_api.py's post-boot step: MMDS config only before InstanceStart; the store any time.
TEST_F(FcTestMmds, ConfigBeforeStartOnlyStoreAnyTime) {
  basic_config();
  accepted("PUT", "/mmds", R"({"a": "1"})");
  start();
  refused("PUT", "/mmds/config", R"({"network_interfaces": ["1"]})",
          "The requested operation is not supported after starting the microVM.");
  accepted("PATCH", "/mmds", R"({"b": "2"})");
  accepted("PUT", "/mmds", R"({"c": {"d": "3"}})");
  EXPECT_EQ(mmds(), json::parse(R"({"c": {"d": "3"}})"));
}

// Firecracker's --metadata (flintlock passes it): the store holds the file's JSON from the start;
// a file that is not JSON or is over the limit ends ember with a message.
TEST_F(FcTestMmds, MetadataFlagFillsTheStore) {
  const std::string good = dir_.write("meta.json", R"({"latest": {"user-data": "aGVsbG8=", "meta-data": {"id": "x"}}})");
  spawn({"--metadata", good});
  EXPECT_EQ(mmds(), json::parse(R"({"latest": {"user-data": "aGVsbG8=", "meta-data": {"id": "x"}}})"));
  EXPECT_TRUE(ember_->wait_for_output("Successfully added metadata to mmds from file", 5s, true));

  const std::string bad = dir_.write("bad.json", R"({"latest": )");
  BackgroundProcess not_json({EMBER_BINARY, "--api-sock", dir_.path() + "/x.sock", "--metadata", bad});
  const ProcessResult r = not_json.wait(10s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--metadata"), std::string::npos) << r.err;

  const std::string big = dir_.write("big.json", json{{"k", std::string(100, 'a')}}.dump());
  BackgroundProcess too_big({EMBER_BINARY, "--api-sock", dir_.path() + "/y.sock", "--metadata", big,
                             "--mmds-size-limit", "50"});
  const ProcessResult t = too_big.wait(10s);
  EXPECT_EQ(t.exit_code, 1) << t.err;
  EXPECT_NE(t.err.find("The MMDS patch request doesn't fit."), std::string::npos) << t.err;
}

// The mmds group of the metrics line is the service's (all zero here: no guest traffic), and
// the deprecated V1 config counts as a deprecated API call, as test_deprecated_mmds_config checks.
TEST_F(FcTestMmds, MetricsHaveTheMmdsGroup) {
  const std::string metrics = dir_.path() + "/metrics";
  accepted("PUT", "/metrics", R"({"metrics_path": ")" + metrics + R"("})");
  basic_config();
  add_net_iface();
  accepted("PUT", "/mmds/config", R"({"network_interfaces": ["1"]})");
  accepted("PUT", "/mmds/config", R"({"network_interfaces": ["1"], "version": "V2"})");
  ember_->send_signal(SIGTERM);
  (void)ember_->wait(10s);
  const std::string text = read_file_text(metrics);
  ASSERT_FALSE(text.empty());
  const json line = json::parse(text.substr(0, text.find('\n')));
  EXPECT_EQ(line["deprecated_api"]["deprecated_http_api_calls"], 1);
  ASSERT_TRUE(line.contains("mmds"));
  EXPECT_EQ(line["mmds"]["rx_count"], 0);
  EXPECT_EQ(line["mmds"].size(), 13u);
}

}  // namespace
}  // namespace ember::test
