// Packets from the device to the guest: the rx queue (virtio 1.2 §5.10.6.4) and the event
// queue (§5.10.6.7).
#include <sys/epoll.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "devices/virtio/vsock/virtio_vsock.h"

namespace ember {

using namespace vsock;  // NOLINT(google-build-using-namespace): the spec's names

Result<bool> VirtioVsock::take_rx_chain(RxChain* out) {
  if (kept_rx_) {
    *out = std::move(*kept_rx_);
    kept_rx_.reset();
    return true;
  }
  for (;;) {
    ASSIGN_OR_RETURN(const bool popped, rx_queue().pop(&chain_));
    if (!popped) {
      rx_starved_ = true;
      return false;
    }
    std::string problem;
    // Every rx buffer must hold a header and at least one payload byte, or it could never
    // carry data.
    ASSIGN_OR_RETURN(const bool usable,
                     out->view.map(activation_.mem(), chain_, kHeaderSize + 1, &problem));
    if (usable) {
      out->head = chain_.head;
      return true;
    }
    log_problem(problem + "; returned unused");
    TRY(rx_queue().add_used(chain_.head, 0));
    used_[kRxQueue] = true;
  }
}

Result<void> VirtioVsock::send_header(RxChain& chain, const PacketHeader& h) {
  chain.view.write(0, encode_header(h));
  // §2.7.8: the used length is what the device wrote, header plus payload already in place.
  TRY(rx_queue().add_used(chain.head, static_cast<uint32_t>(kHeaderSize + h.len)));
  used_[kRxQueue] = true;
  counters_.add(&VirtioVsockCounters::rx_packets);
  if (h.op == kOpRst) counters_.add(&VirtioVsockCounters::resets_sent);
  return {};
}

PacketHeader VirtioVsock::header_for(const Connection& c, uint16_t op) const {
  PacketHeader h;
  h.src_cid = kHostCid;
  h.dst_cid = guest_cid_;
  h.src_port = c.local_port;
  h.dst_port = c.peer_port;
  h.type = kTypeStream;
  h.op = op;
  // §5.10.6.3: every packet tells the peer about the sender's buffer.
  h.buf_alloc = c.credit.buf_alloc();
  h.fwd_cnt = c.credit.fwd_cnt();
  return h;
}

void VirtioVsock::queue_rst(uint64_t src_cid, uint32_t src_port, uint32_t dst_port) {
  if (rst_queue_.size() >= kRstQueueLimit) {
    log_problem("too many RSTs waiting for rx buffers; dropping one");
    return;
  }
  PacketHeader h;
  h.src_cid = src_cid;
  h.dst_cid = guest_cid_;
  h.src_port = src_port;
  h.dst_port = dst_port;
  h.type = kTypeStream;
  h.op = kOpRst;
  rst_queue_.push_back(h);
}

void VirtioVsock::queue_control(Connection& c, uint32_t ops) {
  c.pending |= ops;
  if (!c.in_rx_list) {
    c.in_rx_list = true;
    rx_list_.push_back(c.slot);
  }
}

Result<void> VirtioVsock::flush_control() {
  while (!rst_queue_.empty()) {
    RxChain chain;
    ASSIGN_OR_RETURN(const bool got, take_rx_chain(&chain));
    if (!got) return {};
    TRY(send_header(chain, rst_queue_.front()));
    rst_queue_.pop_front();
  }
  while (!rx_list_.empty()) {
    Connection* c = slots_[rx_list_.front()].get();
    if (c != nullptr) {
      ASSIGN_OR_RETURN(const bool done, send_pending(*c));
      if (!done) return {};
      c->in_rx_list = false;
    }
    rx_list_.pop_front();
  }
  return {};
}

Result<bool> VirtioVsock::send_pending(Connection& c) {
  // The order matters: a RESPONSE before anything else on the stream, a SHUTDOWN last.
  static constexpr std::pair<uint32_t, uint16_t> kOrder[] = {
      {kPendingRequest, kOpRequest},
      {kPendingResponse, kOpResponse},
      {kPendingCreditUpdate, kOpCreditUpdate},
      {kPendingCreditRequest, kOpCreditRequest},
      {kPendingShutdown, kOpShutdown},
  };
  for (const auto& [bit, op] : kOrder) {
    if ((c.pending & bit) == 0) continue;
    RxChain chain;
    ASSIGN_OR_RETURN(const bool got, take_rx_chain(&chain));
    if (!got) return false;
    PacketHeader h = header_for(c, op);
    if (op == kOpShutdown) h.flags = c.shutdown_flags;
    TRY(send_header(chain, h));
    c.credit.mark_advertised();
    c.pending &= ~bit;
    if (op == kOpRequest) c.guest_knows = true;
  }
  return true;
}

Result<void> VirtioVsock::read_host(Connection& c) {
  for (int i = 0; i < kMaxReadsPerEvent && !c.host_eof; ++i) {
    // Owed control packets (a RESPONSE above all) go before any data.
    if (c.pending != 0) {
      ASSIGN_OR_RETURN(const bool done, send_pending(c));
      if (!done) break;
    }
    const uint32_t credit = c.credit.peer_free();
    if (credit == 0) {
      // §5.10.6.3: ask the guest for its numbers once; its next packet brings them anyway.
      if (!c.credit_requested) {
        c.credit_requested = true;
        queue_control(c, kPendingCreditRequest);
      }
      break;
    }
    RxChain chain;
    ASSIGN_OR_RETURN(const bool got, take_rx_chain(&chain));
    if (!got) break;
    const size_t want = std::min<size_t>({chain.view.capacity() - kHeaderSize, credit,
                                          kMaxPayload});
    chain.view.views(kHeaderSize, want, &iov_);
    ssize_t n;
    do {
      n = ::readv(c.fd.get(), iov_.data(), static_cast<int>(iov_.size()));
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      PacketHeader h = header_for(c, kOpRw);
      h.len = static_cast<uint32_t>(n);
      TRY(send_header(chain, h));
      c.credit.on_sent_to_guest(h.len);
      c.credit.mark_advertised();
      counters_.add(&VirtioVsockCounters::rx_bytes, h.len);
      continue;
    }
    kept_rx_ = std::move(chain);  // unused: the next packet takes it
    if (n == 0) {
      // The host will send no more (§5.10.6.5): tell the guest once its data is through.
      c.host_eof = true;
      c.shutdown_flags |= kShutdownSend;
      queue_control(c, kPendingShutdown);
      break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    close_connection(c, /*rst=*/true);  // the host socket broke
    return {};
  }
  update_interest(c);
  return {};
}

Result<void> VirtioVsock::deliver_transport_reset() {
  for (;;) {
    ASSIGN_OR_RETURN(const bool popped, event_queue().pop(&chain_));
    if (!popped) return {};  // sent when the driver posts an event buffer
    RxChainView view;
    std::string problem;
    ASSIGN_OR_RETURN(const bool usable, view.map(activation_.mem(), chain_, kEventSize, &problem));
    if (!usable) {
      log_problem("event queue: " + problem + "; returned unused");
      TRY(event_queue().add_used(chain_.head, 0));
      used_[kEventQueue] = true;
      continue;
    }
    const uint32_t id = kEventTransportReset;  // struct virtio_vsock_event { le32 id; }
    uint8_t bytes[kEventSize];
    std::memcpy(bytes, &id, sizeof id);
    view.write(0, bytes);
    TRY(event_queue().add_used(chain_.head, kEventSize));
    used_[kEventQueue] = true;
    transport_reset_pending_ = false;
    counters_.add(&VirtioVsockCounters::transport_resets);
    return {};
  }
}

}  // namespace ember
