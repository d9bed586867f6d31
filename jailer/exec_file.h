// The program the jailer runs: it must be an x86-64 ELF executable that needs no dynamic loader
// (the jail holds no shared libraries), and it is copied into the jail so the jailed process can
// neither see nor change the host's file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

#include "base/result.h"

namespace ember::jailer {

// How much of the file check_static_elf() looks at: the ELF header and program headers of any
// real executable sit well inside it.
inline constexpr size_t kElfHeadBytes = 64 * 1024;

// Checks the start of a file (ELF64 spec, "ELF Header" and "Program Header"): 64-bit
// little-endian x86-64, ET_EXEC or ET_DYN (static-pie), a program header table inside `head`,
// and no PT_INTERP (a dynamically linked program would not find its loader in the jail).
[[nodiscard]] Result<void> check_static_elf(std::span<const uint8_t> head);

// The exec file on the host: a regular file with an execute bit, checked by check_static_elf.
[[nodiscard]] Result<void> check_exec_file(const std::string& path);

// Copies a regular file to a new file `to` (which must not exist) with `mode`.
[[nodiscard]] Result<void> copy_new_file(const std::string& from, const std::string& to, mode_t mode);

}  // namespace ember::jailer
