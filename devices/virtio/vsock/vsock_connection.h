// One vsock stream as the device keeps it: the host Unix socket, where the handshake stands,
// the credit of both directions, the guest bytes the host has not taken yet, and the control
// packets still owed to the guest.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "devices/virtio/vsock/byte_ring.h"
#include "devices/virtio/vsock/credit.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace ember::vsock {

enum class ConnectionState {
  kAwaitingCommand,   // a host process connected to uds_path; its "CONNECT <port>\n" is not complete
  kAwaitingResponse,  // host-initiated: REQUEST for the guest, waiting for RESPONSE or RST
  kEstablished,       // data may flow (each direction until its SHUTDOWN)
};

// Control packets a connection owes the guest, sent in this order as rx buffers allow.
enum PendingOp : uint32_t {
  kPendingRequest = 1u << 0,
  kPendingResponse = 1u << 1,
  kPendingCreditUpdate = 1u << 2,
  kPendingCreditRequest = 1u << 3,
  kPendingShutdown = 1u << 4,
};

// Sends from `iov` to the non-blocking stream socket `fd` without SIGPIPE; returns the bytes
// taken (0 when it would block). An error is a broken socket.
[[nodiscard]] Result<size_t> send_nonblocking(int fd, std::span<const iovec> iov);

struct Connection {
  // `buf_alloc`: the receive buffer advertised to the guest, which bounds to_host.
  Connection(UniqueFd socket, uint32_t event_slot, uint32_t buf_alloc);

  // Queues host-bound bytes: sent now when nothing is waiting, the rest kept in to_host.
  // `guest_data` says whether they count against the credit (the OK reply does not).
  // Returns the guest bytes that reached the socket now.
  [[nodiscard]] Result<size_t> write_to_host(std::span<const iovec> iov, bool guest_data);
  // Sends what to_host holds; returns the guest bytes that reached the socket.
  [[nodiscard]] Result<size_t> flush_to_host();

  UniqueFd fd;
  uint32_t slot;  // index in the device's table; its event id is derived from it
  ConnectionState state = ConnectionState::kAwaitingCommand;
  bool host_initiated = true;
  uint32_t local_port = 0;  // the host end's port
  uint32_t peer_port = 0;   // the guest end's port
  Credit credit;
  ByteRing to_host;           // guest bytes (and the OK reply) the socket has not taken yet
  size_t to_host_uncounted = 0;  // leading bytes of to_host outside the credit (the OK reply)
  std::string command;        // the partial CONNECT line
  uint32_t pending = 0;       // PendingOp bits
  uint32_t shutdown_flags = 0;  // what a pending SHUTDOWN carries
  bool guest_knows = false;   // the guest has heard of it: closing it needs an RST
  bool guest_shut_send = false;     // the guest will send no more
  bool guest_shut_receive = false;  // the guest wants no more
  bool host_eof = false;            // the host socket reached its end
  bool credit_requested = false;    // a CREDIT_REQUEST went out since the guest's last credit
  bool in_rx_list = false;          // queued for pending control packets
  bool starved = false;             // stopped reading for want of rx buffers
  bool has_deadline = false;
  std::chrono::steady_clock::time_point deadline{};
  uint32_t watched_events = 0;  // epoll events registered (0: not watched)
};

}  // namespace ember::vsock
