// Runs the ember binary as a child process for tests: captures stdout and stderr, waits with
// a deadline, and kills it if it overstays.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ember::test {

struct ProcessResult {
  bool timed_out = false;
  bool stopped_early = false;  // the `until` predicate ended the run
  int exit_code = -1;          // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

using OutputPredicate = std::function<bool(const std::string& out, const std::string& err)>;

// Runs `argv` (argv[0] is the program path). If `until` is given it is called with the
// output so far after every read; when it returns true the child gets `stop_signal`
// (SIGKILL by default; another signal lets it exit by itself before the deadline).
ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                          const OutputPredicate& until = {}, int stop_signal = 9);

// A child process whose output is collected by a thread while the test talks to it.
class BackgroundProcess {
 public:
  explicit BackgroundProcess(const std::vector<std::string>& argv);
  ~BackgroundProcess();  // kills and reaps the child if it still runs
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  // Waits until stdout (or stderr) holds `needle`; false on timeout or exit.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout, bool in_stderr = false);
  std::string out();
  std::string err();
  void send_signal(int sig);
  [[nodiscard]] int pid() const { return pid_; }
  // Waits for the exit; on timeout kills it and sets timed_out.
  ProcessResult wait(std::chrono::milliseconds timeout);

 private:
  void reader();
  int pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  struct Shared;
  std::unique_ptr<Shared> shared_;
};

// The whole text of the file at `path` (empty when it cannot be read).
std::string read_file_text(const std::string& path);

// A temporary directory removed with everything in it when this goes out of scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Runs ember --no-api with a config file holding `config_json`, plus `extra_args`.
ProcessResult run_ember(const std::string& config_json, std::chrono::seconds timeout,
                        const std::vector<std::string>& extra_args = {},
                        const OutputPredicate& until = {}, int stop_signal = 9);

// A machine config + boot source JSON for a kernel path.
std::string vm_json(const std::string& kernel, int vcpus = 1, int mem_mib = 128,
                    const std::string& boot_args = "console=ttyS0");

std::string guest_path(const std::string& name);

// Fails the calling test (with the reason) unless /dev/kvm can be opened read-write.
void require_kvm();

}  // namespace ember::test
