// What the launch tests of Firecracker's clients (Kata Containers, firectl, flintlock) share: the
// checks those clients make on the VMM from outside, written after the clients' own code, so that
// a test fails where the client would.
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ember::test {

// Kata Containers (src/runtime/virtcontainers/fc.go, parseVersion/checkVersion): the first line
// of `<vmm> --version` split at single spaces; the second field, trimmed and without a leading
// 'v', must be a semantic version of at least 0.21.1. Returns the version, or nullopt where Kata
// would refuse the binary.
inline std::optional<std::string> kata_accepted_version(const std::string& out) {
  const std::string first_line = out.substr(0, out.find('\n'));
  std::vector<std::string> fields;
  for (size_t start = 0;;) {
    const size_t space = first_line.find(' ', start);
    fields.push_back(first_line.substr(start, space == std::string::npos ? std::string::npos : space - start));
    if (space == std::string::npos) break;
    start = space + 1;
  }
  if (fields.size() < 2) return std::nullopt;
  std::string v = fields[1];
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(v.begin());
  if (!v.empty() && v.front() == 'v') v.erase(v.begin());
  // semver.Make: MAJOR.MINOR.PATCH, numbers without leading zeros (pre-release/build parts
  // would follow '-'/'+'; ember prints none).
  unsigned long parts[3] = {0, 0, 0};
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    const size_t end = v.find('.', pos);
    const std::string part = v.substr(pos, i < 2 ? end - pos : std::string::npos);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || (part.size() > 1 && part[0] == '0'))
      return std::nullopt;
    parts[i] = std::stoul(part);
    if (i < 2) {
      if (end == std::string::npos) return std::nullopt;
      pos = end + 1;
    }
  }
  const unsigned long minimum[3] = {0, 21, 1};
  for (int i = 0; i < 3; ++i) {
    if (parts[i] != minimum[i]) {
      if (parts[i] < minimum[i]) return std::nullopt;
      break;
    }
  }
  return v;
}

// The kernel's names of every thread of `pid` (/proc/<pid>/task/<tid>/comm), by thread id.
inline std::map<int, std::string> thread_names(int pid) {
  std::map<int, std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(entry.path() / "comm");
    std::string name;
    std::getline(in, name);
    out[std::stoi(entry.path().filename().string())] = name;
  }
  return out;
}

inline std::string describe_threads(const std::map<int, std::string>& threads) {
  std::string s;
  for (const auto& [tid, name] : threads) s += std::to_string(tid) + " '" + name + "'\n";
  return s;
}

// Kata Containers' GetThreadIDs (fc.go): every thread whose comm starts with "fc_vcpu"; the rest
// of the name, trimmed, is the vCPU index. Returns index -> thread id; nullopt where Kata fails.
inline std::optional<std::map<int, int>> kata_vcpu_threads(int pid) {
  std::map<int, int> vcpus;
  for (const auto& [tid, comm] : thread_names(pid)) {
    if (comm.rfind("fc_vcpu", 0) != 0) continue;
    std::string index = comm.substr(std::strlen("fc_vcpu"));
    while (!index.empty() && std::isspace(static_cast<unsigned char>(index.front()))) index.erase(index.begin());
    while (!index.empty() && std::isspace(static_cast<unsigned char>(index.back()))) index.pop_back();
    if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    vcpus[std::stoi(index)] = tid;
  }
  return vcpus;
}

// Polls until `path` exists (a launcher waiting for the API socket).
inline bool wait_for_path(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The pid of the process serving the Unix socket at `path` (SO_PEERCRED of a connection).
inline int socket_server_pid(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  int pid = -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) pid = cred.pid;
  }
  ::close(fd);
  return pid;
}

// Until a server takes connections on the Unix socket at `path` (its file appears at bind(), a
// moment before listen()); false after `timeout`.
inline bool wait_for_api_socket(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (socket_server_pid(path) <= 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// `<dir>/firecracker`, a symlink to `binary`: ember invoked under Firecracker's name.
inline std::string firecracker_link(const std::string& dir, const std::string& binary) {
  const std::string link = dir + "/firecracker";
  std::filesystem::create_symlink(binary, link);
  return link;
}

}  // namespace ember::test
