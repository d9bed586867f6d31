// The host side: the listening socket, each connection's Unix socket, the REQUEST timer, and
// the bookkeeping of connections.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <algorithm>

#include "devices/virtio/vsock/connect_line.h"
#include "devices/virtio/vsock/unix_socket.h"
#include "devices/virtio/vsock/virtio_vsock.h"
#include "base/check.h"
#include "base/log.h"

namespace ember {

using namespace vsock;  // NOLINT(google-build-using-namespace): the spec's names

namespace {

// Connections accepted per listener event; the level-triggered listener brings the rest.
constexpr int kMaxAcceptsPerEvent = 64;
// How long accepting pauses after running out of fds.
constexpr std::chrono::milliseconds kListenerRetry{200};

timespec to_timespec(std::chrono::steady_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns.count() % 1'000'000'000);
  return ts;
}

}  // namespace

void VirtioVsock::set_listener_watched(bool on) {
  if (on == listener_watched_) return;
  if (!on) {
    registrar_.unwatch(listener_.get());
    listener_watched_ = false;
    return;
  }
  auto r = registrar_.watch(listener_.get(), EPOLLIN, kListenerEvent);
  if (!r) {
    log_problem("cannot watch the listening socket: " + r.error().message);
    return;
  }
  listener_watched_ = true;
}

void VirtioVsock::pause_listener() {
  set_listener_watched(false);
  listener_paused_ = true;
  listener_retry_at_ = std::chrono::steady_clock::now() + kListenerRetry;
  arm_timer();
}

void VirtioVsock::accept_host_connections() {
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    auto fd = accept_unix(listener_.get());
    if (!fd) {
      // Out of fds or memory: the pending connection stays queued; try again later.
      log_problem(fd.error().message + "; pausing for " +
                  std::to_string(kListenerRetry.count()) + " ms");
      pause_listener();
      return;
    }
    if (!fd->valid()) return;
    if (live_connections_ >= max_connections_) {
      counters_.add(&VirtioVsockCounters::refused_connections);
      log_problem("host connection refused: " + std::to_string(max_connections_) +
                  " connections are open");
      continue;  // closing it is the refusal
    }
    Connection* c = add_connection(std::move(fd).value());
    update_interest(*c);
  }
}

Connection* VirtioVsock::add_connection(UniqueFd fd) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot] = std::make_unique<Connection>(std::move(fd), slot, buf_alloc_);
  ++live_connections_;
  counters_.set(&VirtioVsockCounters::active_connections, live_connections_);
  return slots_[slot].get();
}

Connection* VirtioVsock::find(uint32_t local_port, uint32_t peer_port) {
  const auto it = by_key_.find(key_of(local_port, peer_port));
  return it == by_key_.end() ? nullptr : slots_[it->second].get();
}

uint32_t VirtioVsock::assign_local_port(uint32_t peer_port) {
  // At most max_connections ports are taken, so this ends quickly.
  for (;;) {
    const uint32_t port = next_local_port_;
    next_local_port_ = port == 0xfffffffeu ? (1u << 30) : port + 1;
    if (!by_key_.contains(key_of(port, peer_port))) return port;
  }
}

void VirtioVsock::close_connection(Connection& c, bool rst) {
  if (rst && c.guest_knows) queue_rst(kHostCid, c.local_port, c.peer_port);
  if (c.watched_events != 0) registrar_.unwatch(c.fd.get());
  clear_deadline(c);
  if (c.state != ConnectionState::kAwaitingCommand) {
    const auto it = by_key_.find(key_of(c.local_port, c.peer_port));
    if (it != by_key_.end() && it->second == c.slot) by_key_.erase(it);
  }
  if (c.in_rx_list) rx_list_.erase(std::find(rx_list_.begin(), rx_list_.end(), c.slot));
  if (c.starved) starved_.erase(std::find(starved_.begin(), starved_.end(), c.slot));
  const uint32_t slot = c.slot;
  slots_[slot].reset();  // closes the host socket; `c` is gone
  free_slots_.push_back(slot);
  --live_connections_;
  counters_.set(&VirtioVsockCounters::active_connections, live_connections_);
  if (listener_paused_ && activation_.active()) {
    listener_paused_ = false;
    set_listener_watched(true);
  }
}

void VirtioVsock::close_all_connections() {
  for (auto& slot : slots_)
    if (slot != nullptr) close_connection(*slot, /*rst=*/false);
  slots_.clear();
  free_slots_.clear();
  rx_list_.clear();
  starved_.clear();
  CHECK(by_key_.empty() && live_connections_ == 0 && deadlines_ == 0);
}

bool VirtioVsock::may_read_host(const Connection& c) {
  return c.state == ConnectionState::kEstablished && !c.host_eof && !c.guest_shut_receive &&
         c.credit.peer_free() > 0;
}

void VirtioVsock::update_interest(Connection& c) {
  uint32_t want = 0;
  if (c.state == ConnectionState::kAwaitingCommand) {
    want = EPOLLIN;
  } else if (c.state == ConnectionState::kEstablished) {
    if (may_read_host(c)) {
      if (!rx_starved_) {
        want |= EPOLLIN;
      } else if (!c.starved) {
        // Without rx buffers a readable socket would fire again and again: stop watching it
        // until the driver posts some (process_queue(rx)).
        c.starved = true;
        starved_.push_back(c.slot);
      }
    }
    if (!c.to_host.empty()) want |= EPOLLOUT;
  }
  if (want == c.watched_events) return;
  // An fd nobody watches cannot report a hang-up either, which is what we want while the
  // connection waits for the guest: the hang-up is seen when it reads or writes again.
  if (want == 0) {
    registrar_.unwatch(c.fd.get());
    c.watched_events = 0;
    return;
  }
  const uint32_t id = kFirstConnectionEvent + c.slot;
  auto r = c.watched_events == 0 ? registrar_.watch(c.fd.get(), want, id)
                                 : registrar_.modify(c.fd.get(), want, id);
  if (!r) {
    log_problem("cannot watch a connection's socket: " + r.error().message);
    return;
  }
  c.watched_events = want;
}

Result<void> VirtioVsock::host_connection_event(Connection& c) {
  switch (c.state) {
    case ConnectionState::kAwaitingCommand:
      read_command(c);
      return {};
    case ConnectionState::kAwaitingResponse:
      update_interest(c);
      return {};
    case ConnectionState::kEstablished:
      if (!c.to_host.empty() && !write_host(c)) return {};
      if (may_read_host(c)) return read_host(c);
      update_interest(c);
      return {};
  }
  return {};
}

void VirtioVsock::read_command(Connection& c) {
  auto read = read_connect_line(c.fd.get(), &c.command);
  if (read && *read == LineRead::kIncomplete) return;
  std::string problem;
  uint32_t port = 0;
  if (!read) {
    problem = read.error().message;
  } else if (*read == LineRead::kClosed) {
    problem = "host connection ended before its CONNECT command";
  } else if (*read == LineRead::kTooLong) {
    problem = "host sent no newline within " + std::to_string(kMaxConnectLine) +
              " bytes: not a CONNECT command";
  } else {
    auto parsed = parse_connect_line(c.command);
    if (parsed) port = *parsed;
    else problem = parsed.error().message;
  }
  if (!problem.empty()) {
    counters_.add(&VirtioVsockCounters::refused_connections);
    log_problem(problem + "; host connection closed");
    close_connection(c, /*rst=*/false);
    return;
  }
  c.command = std::string();
  c.peer_port = port;
  c.local_port = assign_local_port(port);
  by_key_[key_of(c.local_port, c.peer_port)] = c.slot;
  c.state = ConnectionState::kAwaitingResponse;
  set_deadline(c);
  queue_control(c, kPendingRequest);
  update_interest(c);  // nothing to watch until the guest answers
}

void VirtioVsock::establish(Connection& c) {
  clear_deadline(c);
  c.state = ConnectionState::kEstablished;
  counters_.add(&VirtioVsockCounters::host_connections);
  const std::string reply = connect_reply(c.local_port);
  const iovec iov{const_cast<char*>(reply.data()), reply.size()};
  auto sent = c.write_to_host(std::span(&iov, 1), /*guest_data=*/false);
  if (!sent) {
    log_debug("virtio-vsock: port " + std::to_string(c.local_port) + ": " +
              sent.error().message);
    close_connection(c, /*rst=*/true);
    return;
  }
  update_interest(c);
}

bool VirtioVsock::write_host(Connection& c) {
  auto sent = c.flush_to_host();
  if (!sent) {
    log_debug("virtio-vsock: port " + std::to_string(c.local_port) + ": " +
              sent.error().message);
    close_connection(c, /*rst=*/true);
    return false;
  }
  c.credit.on_forwarded_to_host(static_cast<uint32_t>(*sent));
  if (c.credit.update_due(kMaxPayload)) queue_control(c, kPendingCreditUpdate);
  if (c.to_host.empty()) {
    // A SHUTDOWN from the guest waited for its data to reach the host (see guest_shutdown).
    if (c.guest_shut_send && c.guest_shut_receive) {
      close_connection(c, /*rst=*/true);
      return false;
    }
    if (c.guest_shut_send) (void)::shutdown(c.fd.get(), SHUT_WR);
  }
  update_interest(c);
  return true;
}

void VirtioVsock::set_deadline(Connection& c) {
  if (!c.has_deadline) ++deadlines_;
  c.has_deadline = true;
  c.deadline = std::chrono::steady_clock::now() + connect_timeout_;
  if (armed_ == std::chrono::steady_clock::time_point{} || c.deadline < armed_) arm_timer();
}

void VirtioVsock::clear_deadline(Connection& c) {
  if (!c.has_deadline) return;
  c.has_deadline = false;
  --deadlines_;
}

void VirtioVsock::expire_deadlines() {
  const auto now = std::chrono::steady_clock::now();
  armed_ = {};
  if (deadlines_ > 0) {
    for (auto& slot : slots_) {
      Connection* c = slot.get();
      if (c == nullptr || !c->has_deadline || c->deadline > now) continue;
      counters_.add(&VirtioVsockCounters::connect_timeouts);
      log_problem("guest did not answer the connection to its port " +
                  std::to_string(c->peer_port) + " within " +
                  std::to_string(connect_timeout_.count()) + " ms; host connection closed");
      close_connection(*c, /*rst=*/true);
    }
  }
  if (listener_paused_ && listener_retry_at_ <= now) {
    listener_paused_ = false;
    set_listener_watched(true);
  }
  arm_timer();
}

void VirtioVsock::arm_timer() {
  std::chrono::steady_clock::time_point next{};
  auto consider = [&next](std::chrono::steady_clock::time_point t) {
    if (next == std::chrono::steady_clock::time_point{} || t < next) next = t;
  };
  if (deadlines_ > 0)
    for (const auto& slot : slots_)
      if (slot != nullptr && slot->has_deadline) consider(slot->deadline);
  if (listener_paused_) consider(listener_retry_at_);
  if (next == armed_) return;
  itimerspec spec{};
  if (next != std::chrono::steady_clock::time_point{}) {
    spec.it_value = to_timespec(next);
    // A zero it_value would disarm: the clock is far past its epoch, but be sure.
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  }
  if (::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) < 0) {
    log_problem("cannot arm the connection timer");
    return;
  }
  armed_ = next;
}

}  // namespace ember
