// emberctl's own exit statuses. `emberctl run` otherwise exits with its command's status (0 to
// 255, 128+N when the command died by signal N). These sit in the sysexits range (64 to 78),
// away from what commands commonly use (1, 2, 126, 127, 128+N). emberctl/README.md lists them.
#pragma once

namespace ember::ctl {

inline constexpr int kExitApiErrorStatus = 1;   // emberctl api: the API answered with a non-2xx status
inline constexpr int kExitUsage = 64;           // bad command line
inline constexpr int kExitMissingInput = 65;    // kernel, initrd, rootfs, copy-in source, ember or pool missing/unusable
inline constexpr int kExitVmStartFailed = 66;   // ember did not start the VM (API refusal, snapshot load, tap)
inline constexpr int kExitGuestNotReady = 67;   // the guest agent did not answer in time (or the VM died booting)
inline constexpr int kExitAgentLost = 68;       // the agent connection or the VM ended while the command ran
inline constexpr int kExitCommandNotStarted = 69;  // the command could not be started in the guest (not found...)
inline constexpr int kExitTimeout = 70;         // --timeout passed
inline constexpr int kExitInternal = 71;        // host-side failure (scratch dir, rootfs copy, ...)
inline constexpr int kExitCopyFailed = 72;      // a --copy-in or --copy-out failed
inline constexpr int kExitApiUnreachable = 73;  // emberctl api: no answer from the API socket
// emberctl stopped by SIGINT/SIGTERM/SIGHUP: 128 + the signal (after cleaning up).
inline constexpr int kExitSignalBase = 128;

}  // namespace ember::ctl
