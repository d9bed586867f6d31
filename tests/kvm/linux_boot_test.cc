// Debian's stock kernel, unmodified, booted by ember on this machine's /dev/kvm. On a host
// without hardware virtualization the guest kernel runs in KVM's instruction emulator and
// stops before userspace (see the top-level README), so these tests check its first console lines; the
// end-to-end layer boots it all the way in a nested VM.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/kvm/ember_process.h"

namespace ember::test {
namespace {

using std::chrono::seconds;

void expect_linux_banner(const std::string& kernel_file, const std::string& extra_config = "") {
  require_kvm();
  std::string kernel = std::string(EMBER_KERNEL_DIR) + "/" + kernel_file;
  ASSERT_TRUE(std::filesystem::exists(kernel))
      << kernel << " is missing: scripts/fetch-guest-kernel.sh " << EMBER_KERNEL_DIR << " fetches it";
  std::string cfg = R"({"boot-source": {"kernel_image_path": ")" + kernel +
                    R"(", "boot_args": "console=ttyS0 earlyprintk=ttyS0 reboot=k panic=1 pci=off nomodule lpj=1904640")" +
                    extra_config + R"(}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 256}})";
  auto r = run_ember(cfg, seconds(240), {}, [](const std::string& out, const std::string&) {
    return out.find("Command line:") != std::string::npos;
  });
  EXPECT_TRUE(r.stopped_early) << "no 'Linux version' banner; exit " << r.exit_code
                               << (r.timed_out ? " (timed out)" : "") << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_NE(r.out.find("Linux version 6."), std::string::npos) << r.out;
  std::cout << "[ guest console ] " << r.out.substr(0, 400) << "\n";
}

TEST(StockLinux, BzImageWithHostDecompressionPrintsItsBanner) { expect_linux_banner("vmlinuz"); }

TEST(StockLinux, ElfVmlinuxThroughPvhPrintsItsBanner) { expect_linux_banner("vmlinux"); }

}  // namespace
}  // namespace ember::test
