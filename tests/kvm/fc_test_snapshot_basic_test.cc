// The API-level parts of Firecracker v1.16.1's
// tests/integration_tests/functional/test_snapshot_basic.py, ported with the ticker guest.
//
// Not ported (they need a Linux guest, ssh, a tap, a jailer chroot or the snapshot editor):
// test_snapshot_current_version, test_cycled_snapshot_restore, test_patch_drive_snapshot,
// test_cmp_full_and_first_diff_mem, test_negative_snapshot_permissions,
// test_create_large_diff_snapshot, test_diff_snapshot_overlay, test_snapshot_overwrite_self,
// test_vmgenid, test_physical_counter_reset_aarch64, test_snapshot_rename_interface,
// test_snapshot_rename_vsock, test_clocksource_snapshot_restore. test_load_snapshot_failure_handling
// is ported for its status only: ember's snapshot format says why an empty file is refused in
// its own words (Firecracker's: "IO Error: File too short to contain CRC").
#include <filesystem>

#include "tests/kvm/fc_test_util.h"

namespace ember::test {
namespace {

class FcTestSnapshotBasic : public FcMicrovm {
 protected:
  // The framework's snapshot_full(): pause, create.
  void snapshot_full() {
    accepted("PATCH", "/vm", R"({"state": "Paused"})");
    accepted("PUT", "/snapshot/create", R"({"snapshot_type": "Full", "snapshot_path": ")" + vmstate() +
                                            R"(", "mem_file_path": ")" + mem() + R"("})");
  }
  // A fresh ember loads it (the framework's build_from_snapshot).
  void restore(bool resume) {
    ember_.reset();
    spawn();
    accepted("PUT", "/snapshot/load", R"({"snapshot_path": ")" + vmstate() + R"(", "mem_backend": {"backend_type": "File",)"
                                          R"( "backend_path": ")" + mem() + R"("}, "resume_vm": )" + (resume ? "true" : "false") + "}");
  }
  std::string vmstate() { return dir_.path() + "/vmstate"; }
  std::string mem() { return dir_.path() + "/mem"; }
};

TEST_F(FcTestSnapshotBasic, TestResume) {
  for (const bool resume_at_restore : {true, false}) {
    SCOPED_TRACE(resume_at_restore);
    basic_config();
    start();
    snapshot_full();
    restore(resume_at_restore);
    if (!resume_at_restore) {
      EXPECT_NE(call("GET", "/").body.find("\"Paused\""), std::string::npos);
      accepted("PATCH", "/vm", R"({"state": "Resumed"})");
    }
    EXPECT_NE(call("GET", "/").body.find("\"Running\""), std::string::npos);
    ember_.reset();
    spawn();
  }
}

TEST_F(FcTestSnapshotBasic, TestLoadSnapshotFailureHandling) {
  const std::string empty_mem = dir_.write("snapshot_mem", "");
  const std::string empty_state = dir_.write("snapshot_vmstate", "");
  refused("PUT", "/snapshot/load", R"({"mem_file_path": ")" + empty_mem + R"(", "snapshot_path": ")" + empty_state + R"("})",
          "Load snapshot error: ");
}

TEST_F(FcTestSnapshotBasic, TestNegativePostloadApi) {
  basic_config();
  accepted("PATCH", "/machine-config", R"({"track_dirty_pages": true})");
  start();
  snapshot_full();
  restore(/*resume=*/false);
  const std::string fail_msg = "The requested operation is not supported after starting the microVM";
  refused("PUT", "/actions", R"({"action_type": "InstanceStart"})", fail_msg);
  refused("PUT", "/machine-config", R"({"vcpu_count": 2, "mem_size_mib": 256})", fail_msg);
  refused("PUT", "/boot-source", R"({"kernel_image_path": ")" + guest_path("ticker") + R"("})", fail_msg);
}

TEST_F(FcTestSnapshotBasic, TestNegativeSnapshotCreate) {
  basic_config();
  start();
  refused("PUT", "/snapshot/create", R"({"mem_file_path": "memfile", "snapshot_path": "statefile", "snapshot_type": "Full"})",
          "save/restore unavailable while running");
}

// test_get_full_config_after_restoring_snapshot (test_api.py), for what ember has: a restored
// VM reports the configuration it was snapshotted with.
TEST_F(FcTestSnapshotBasic, TestGetFullConfigAfterRestoringSnapshot) {
  basic_config();
  accepted("PUT", "/vsock", R"({"guest_cid": 15, "uds_path": ")" + dir_.path() + R"(/v.sock"})");
  start();
  const std::string before = call("GET", "/vm/config").body;
  snapshot_full();
  // The restored VM's vsock listens on the same path: the first VM's socket goes (Firecracker's
  // framework gives each VM its own jail).
  ember_.reset();
  std::filesystem::remove(dir_.path() + "/v.sock");
  restore(/*resume=*/true);
  EXPECT_EQ(call("GET", "/vm/config").body, before);
}

}  // namespace
}  // namespace ember::test
