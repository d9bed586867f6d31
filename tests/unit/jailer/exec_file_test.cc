// The exec file checks (static x86-64 ELF) and the copy into the jail. No root needed.
#include "jailer/exec_file.h"
#include "tests/unit/jailer/temp_directory.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace ember::jailer {
namespace {

// An ELF64 header followed by `phnum` program headers of the given types.
std::vector<uint8_t> elf_image(std::vector<uint32_t> types, uint16_t machine = EM_X86_64, uint16_t type = ET_EXEC) {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = type;
  eh.e_machine = machine;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = static_cast<uint16_t>(types.size());
  std::vector<uint8_t> image(sizeof eh + types.size() * sizeof(Elf64_Phdr));
  std::memcpy(image.data(), &eh, sizeof eh);
  for (size_t i = 0; i < types.size(); ++i) {
    Elf64_Phdr ph{};
    ph.p_type = types[i];
    std::memcpy(image.data() + sizeof eh + i * sizeof ph, &ph, sizeof ph);
  }
  return image;
}

std::string error_of(const std::vector<uint8_t>& image) {
  auto r = check_static_elf(image);
  return r.ok() ? "" : r.error().message;
}

TEST(JailerExecFile, StaticExecutablesPass) {
  EXPECT_EQ(error_of(elf_image({PT_LOAD, PT_LOAD, PT_NOTE, PT_GNU_STACK})), "");
  EXPECT_EQ(error_of(elf_image({PT_LOAD, PT_DYNAMIC}, EM_X86_64, ET_DYN)), "") << "static-pie";
}

TEST(JailerExecFile, DynamicallyLinkedIsRefused) {
  EXPECT_NE(error_of(elf_image({PT_PHDR, PT_INTERP, PT_LOAD})).find("dynamically linked"), std::string::npos);
}

TEST(JailerExecFile, NotAnX86ExecutableIsRefused) {
  EXPECT_NE(error_of({}).find("too short"), std::string::npos);
  EXPECT_NE(error_of(std::vector<uint8_t>(64, 'x')).find("not an ELF"), std::string::npos);
  EXPECT_NE(error_of(elf_image({PT_LOAD}, EM_AARCH64)).find("x86-64"), std::string::npos);
  EXPECT_NE(error_of(elf_image({PT_LOAD}, EM_X86_64, ET_REL)).find("not an executable"), std::string::npos);
  EXPECT_NE(error_of(elf_image({})).find("no program headers"), std::string::npos);
  auto image = elf_image({PT_LOAD});
  image[EI_CLASS] = ELFCLASS32;
  EXPECT_NE(error_of(image).find("64-bit"), std::string::npos);
}

TEST(JailerExecFile, ProgramHeadersOutsideTheDataAreRefused) {
  auto truncated = elf_image({PT_LOAD, PT_LOAD});
  truncated.resize(truncated.size() - 1);
  EXPECT_NE(error_of(truncated).find("lies beyond"), std::string::npos);
  auto far = elf_image({PT_LOAD});
  Elf64_Ehdr eh;
  std::memcpy(&eh, far.data(), sizeof eh);
  eh.e_phoff = UINT64_MAX - 8;  // offset + size would wrap
  std::memcpy(far.data(), &eh, sizeof eh);
  EXPECT_NE(error_of(far).find("lies beyond"), std::string::npos);
  eh.e_phoff = sizeof eh;
  eh.e_phentsize = 8;
  std::memcpy(far.data(), &eh, sizeof eh);
  EXPECT_NE(error_of(far).find("too small"), std::string::npos);
}

using test::TempDirectory;

void write_file(const std::string& path, const std::vector<uint8_t>& data, mode_t mode) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data.data()),
                                              static_cast<std::streamsize>(data.size()));
  chmod(path.c_str(), mode);
}

TEST(JailerExecFile, FileChecks) {
  TempDirectory dir;
  const std::string good = dir.path() + "/good";
  write_file(good, elf_image({PT_LOAD}), 0755);
  EXPECT_TRUE(check_exec_file(good).ok());
  const std::string not_exec = dir.path() + "/noexec";
  write_file(not_exec, elf_image({PT_LOAD}), 0644);
  auto r = check_exec_file(not_exec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not executable"), std::string::npos);
  EXPECT_FALSE(check_exec_file(dir.path()).ok()) << "a directory";
  EXPECT_FALSE(check_exec_file(dir.path() + "/missing").ok());
  const std::string dynamic = dir.path() + "/dynamic";
  write_file(dynamic, elf_image({PT_INTERP, PT_LOAD}), 0755);
  auto d = check_exec_file(dynamic);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find(dynamic), std::string::npos) << "names the file: " << d.error().message;
}

TEST(JailerExecFile, CopyMakesANewFileWithTheMode) {
  TempDirectory dir;
  std::vector<uint8_t> data(300000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  const std::string from = dir.path() + "/from";
  write_file(from, data, 0700);
  const std::string to = dir.path() + "/to";
  ASSERT_TRUE(copy_new_file(from, to, 0755).ok());
  std::ifstream in(to, std::ios::binary);
  std::vector<uint8_t> copied((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(copied, data);
  struct stat a {}, b {};
  stat(from.c_str(), &a);
  stat(to.c_str(), &b);
  EXPECT_EQ(b.st_mode & 07777, 0755u);
  EXPECT_NE(a.st_ino, b.st_ino);
  // An existing destination is never overwritten.
  auto again = copy_new_file(from, to, 0755);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("File exists"), std::string::npos);
  EXPECT_FALSE(copy_new_file(dir.path() + "/missing", dir.path() + "/x", 0755).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/x"));
}

}  // namespace
}  // namespace ember::jailer
