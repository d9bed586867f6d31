#include "jailer/exec_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/errno_error.h"
#include "base/unique_fd.h"

namespace ember::jailer {

Result<void> check_static_elf(std::span<const uint8_t> head) {
  Elf64_Ehdr eh;
  if (head.size() < sizeof eh) return make_error("too short for an ELF header");
  std::memcpy(&eh, head.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return make_error("not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return make_error("not a 64-bit little-endian ELF file");
  if (eh.e_machine != EM_X86_64) return make_error("not an x86-64 program");
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
    return make_error("not an executable (ELF type " + std::to_string(eh.e_type) + ")");
  if (eh.e_phnum == 0) return make_error("has no program headers");
  if (eh.e_phentsize < sizeof(Elf64_Phdr))
    return make_error("program header entries are too small (" + std::to_string(eh.e_phentsize) + " bytes)");
  // Both factors are 16-bit, so the product cannot overflow; the sum is checked against the size.
  const uint64_t table_size = static_cast<uint64_t>(eh.e_phnum) * eh.e_phentsize;
  if (eh.e_phoff > head.size() || table_size > head.size() - eh.e_phoff)
    return make_error("program header table (offset " + std::to_string(eh.e_phoff) + ", " +
                      std::to_string(table_size) + " bytes) lies beyond the first " +
                      std::to_string(head.size()) + " bytes");
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, head.data() + eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize, sizeof ph);
    if (ph.p_type == PT_INTERP)
      return make_error("is dynamically linked (it has an ELF interpreter), and the jail holds no shared "
                        "libraries: use a statically linked build (ember-static)");
  }
  return {};
}

Result<void> check_exec_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(path);
  if (!S_ISREG(st.st_mode)) return make_error(path + " is not a regular file");
  if ((st.st_mode & 0111) == 0) return make_error(path + " is not executable (no x bit)");
  std::vector<uint8_t> head(kElfHeadBytes);
  size_t got = 0;
  while (got < head.size()) {
    const ssize_t n = ::read(fd.get(), head.data() + got, head.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("cannot read " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  auto elf = check_static_elf(std::span<const uint8_t>(head.data(), got));
  if (!elf) return with_context(path, elf.error());
  return {};
}

Result<void> copy_new_file(const std::string& from, const std::string& to, mode_t mode) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return errno_error("cannot open " + from);
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!out.valid()) return errno_error("cannot create " + to);
  auto fail = [&](const std::string& what) {
    Error e = errno_error(what);
    out.reset();
    ::unlink(to.c_str());
    return e;
  };
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot read " + from);
    }
    if (n == 0) break;
    size_t done = 0;
    while (done < static_cast<size_t>(n)) {
      const ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n) - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        return fail("cannot write " + to);
      }
      done += static_cast<size_t>(w);
    }
  }
  // The umask may have narrowed the mode given to open().
  if (::fchmod(out.get(), mode) != 0) return fail("cannot chmod " + to);
  if (::close(out.release()) != 0) {
    Error e = errno_error("cannot write " + to);
    ::unlink(to.c_str());
    return e;
  }
  return {};
}

}  // namespace ember::jailer
