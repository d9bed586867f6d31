// Packets from the guest: the tx queue (virtio 1.2 §5.10.6.4), connection setup and teardown
// (§5.10.6.5), credit (§5.10.6.3).
#include <sys/socket.h>

#include "devices/virtio/vsock/unix_socket.h"
#include "devices/virtio/vsock/virtio_vsock.h"
#include "base/log.h"

namespace ember {

using namespace vsock;  // NOLINT(google-build-using-namespace): the spec's names

Result<void> VirtioVsock::process_tx() {
  tx_blocked_ = false;
  // At most one ring's worth per call, so a guest whose buffers overlap its own avail ring
  // cannot keep the VMM thread here for ever (see VirtioBlock::process_requests).
  for (uint32_t n = 0; n < tx_queue().size(); ++n) {
    // Every packet may need an RST back; while too many wait for rx buffers the guest's
    // packets stay in its queue (backpressure instead of unbounded memory).
    if (rst_queue_.size() >= kRstQueueSoftLimit) {
      tx_blocked_ = true;
      return {};
    }
    ASSIGN_OR_RETURN(const bool popped, tx_queue().pop(&chain_));
    if (!popped) return {};
    counters_.add(&VirtioVsockCounters::tx_packets);
    std::string problem;
    ASSIGN_OR_RETURN(const TxParse parsed,
                     parse_tx_packet(activation_.mem(), chain_, &packet_, &problem));
    if (parsed == TxParse::kNoHeader) {
      counters_.add(&VirtioVsockCounters::bad_packets);
      log_problem(problem + "; dropped");
    } else {
      handle_guest_packet(packet_, problem);
    }
    // The payload has been copied or written out: the buffers go back (nothing written).
    TRY(tx_queue().add_used(chain_.head, 0));
    used_[kTxQueue] = true;
  }
  return {};
}

void VirtioVsock::reject(const PacketHeader& h, Connection* c, const std::string& why) {
  counters_.add(&VirtioVsockCounters::bad_packets);
  log_problem(describe_header(h) + ": " + why);
  if (c != nullptr) {
    close_connection(*c, /*rst=*/h.op != kOpRst);
  } else if (h.op != kOpRst) {
    // An RST never answers an RST (two confused ends would bounce them forever).
    queue_rst(h.dst_cid, h.dst_port, h.src_port);
  }
}

void VirtioVsock::handle_guest_packet(const TxPacket& p, const std::string& problem) {
  const PacketHeader& h = p.header;
  if (h.src_cid != guest_cid_) {
    // A packet claiming to come from elsewhere cannot be answered: the RST would go to the
    // guest about a socket that is not its own.
    counters_.add(&VirtioVsockCounters::bad_packets);
    log_problem(describe_header(h) + ": source CID is not the guest's " +
                std::to_string(guest_cid_) + "; dropped");
    return;
  }
  Connection* c = h.dst_cid == kHostCid ? find(h.dst_port, h.src_port) : nullptr;
  if (!problem.empty()) return reject(h, c, problem);
  if (h.dst_cid != kHostCid) return reject(h, c, "no peer with that CID (only the host, 2)");
  if (h.type != kTypeStream) return reject(h, c, "only stream sockets are supported");
  if (c != nullptr) return handle_connection_packet(*c, p);
  switch (h.op) {
    case kOpRequest: return guest_connect(h);
    case kOpRst: return;  // for a connection already gone
    case kOpResponse:
    case kOpShutdown:
    case kOpRw:
    case kOpCreditUpdate:
    case kOpCreditRequest:
      // Usually a packet that crossed our RST; the guest learns the connection is gone.
      log_debug("virtio-vsock: " + describe_header(h) + " for no connection; RST");
      queue_rst(h.dst_cid, h.dst_port, h.src_port);
      return;
    default: return reject(h, nullptr, "unknown operation");
  }
}

void VirtioVsock::handle_connection_packet(Connection& c, const TxPacket& p) {
  const PacketHeader& h = p.header;
  // §5.10.6.3: every packet carries the guest's current buffer numbers.
  c.credit.update_peer(h.buf_alloc, h.fwd_cnt);
  if (c.credit.peer_free() > 0) c.credit_requested = false;
  c.guest_knows = true;  // whatever happens next, it is told with an RST
  const bool established = c.state == ConnectionState::kEstablished;
  switch (h.op) {
    case kOpRst:
      counters_.add(&VirtioVsockCounters::resets_received);
      close_connection(c, /*rst=*/false);
      return;
    case kOpResponse:
      // (A RESPONSE before the REQUEST went out is a guess at the port, not an answer.)
      if (c.state != ConnectionState::kAwaitingResponse || (c.pending & kPendingRequest))
        return reject(h, &c, "RESPONSE on a connection that did not ask for one");
      establish(c);
      return;
    case kOpRequest: return reject(h, &c, "REQUEST for a connection that exists");
    case kOpShutdown:
      if (!established) return reject(h, &c, "SHUTDOWN before the connection is set up");
      guest_shutdown(c, h.flags);
      return;
    case kOpRw:
      if (!established) return reject(h, &c, "data before the connection is set up");
      if (c.guest_shut_send) return reject(h, &c, "data after the guest's SHUTDOWN");
      guest_data(c, p);
      return;
    case kOpCreditUpdate:
      if (!established) return reject(h, &c, "CREDIT_UPDATE before the connection is set up");
      update_interest(c);  // more credit: the host socket may be read again
      return;
    case kOpCreditRequest:
      if (!established) return reject(h, &c, "CREDIT_REQUEST before the connection is set up");
      queue_control(c, kPendingCreditUpdate);
      return;
    default: return reject(h, &c, "unknown operation");
  }
}

void VirtioVsock::guest_connect(const PacketHeader& h) {
  if (live_connections_ >= max_connections_) {
    counters_.add(&VirtioVsockCounters::refused_connections);
    log_problem("guest connection to port " + std::to_string(h.dst_port) + " refused: " +
                std::to_string(max_connections_) + " connections are open");
    queue_rst(kHostCid, h.dst_port, h.src_port);
    return;
  }
  const std::string path = uds_path_ + "_" + std::to_string(h.dst_port);
  auto fd = connect_unix(path);
  if (!fd) {
    // Nothing listening there is the guest's everyday "connection refused", not a problem.
    counters_.add(&VirtioVsockCounters::refused_connections);
    log_debug("virtio-vsock: guest connection to port " + std::to_string(h.dst_port) +
              " refused: " + fd.error().message);
    queue_rst(kHostCid, h.dst_port, h.src_port);
    return;
  }
  Connection* c = add_connection(std::move(fd).value());
  c->host_initiated = false;
  c->local_port = h.dst_port;
  c->peer_port = h.src_port;
  c->state = ConnectionState::kEstablished;
  c->guest_knows = true;
  c->credit.update_peer(h.buf_alloc, h.fwd_cnt);
  by_key_[key_of(c->local_port, c->peer_port)] = c->slot;
  counters_.add(&VirtioVsockCounters::guest_connections);
  queue_control(*c, kPendingResponse);
  update_interest(*c);
}

void VirtioVsock::guest_data(Connection& c, const TxPacket& p) {
  const uint32_t len = p.header.len;
  if (len == 0) return;
  // §5.10.6.3: a sender must stay within the credit; the device holds exactly that much.
  if (!c.credit.fits(len))
    return reject(p.header, &c,
                  "more data than the " + std::to_string(c.credit.buf_alloc()) +
                      "-byte buffer the device advertised has room for");
  c.credit.on_received_from_guest(len);
  counters_.add(&VirtioVsockCounters::tx_bytes, len);
  auto sent = c.write_to_host(p.payload, /*guest_data=*/true);
  if (!sent) {
    log_debug("virtio-vsock: port " + std::to_string(c.local_port) + ": " +
              sent.error().message);
    close_connection(c, /*rst=*/true);
    return;
  }
  c.credit.on_forwarded_to_host(static_cast<uint32_t>(*sent));
  if (c.credit.update_due(kMaxPayload)) queue_control(c, kPendingCreditUpdate);
  update_interest(c);
}

void VirtioVsock::guest_shutdown(Connection& c, uint32_t flags) {
  if (flags & kShutdownSend) c.guest_shut_send = true;
  if ((flags & kShutdownReceive) && !c.guest_shut_receive) {
    c.guest_shut_receive = true;
    // The host's further writes have nowhere to go.
    (void)::shutdown(c.fd.get(), SHUT_RD);
  }
  if (c.to_host.empty()) {
    // §5.10.6.5: once the guest will neither send nor receive, the peer ends the connection
    // with an RST; its data already reached the host.
    if (c.guest_shut_send && c.guest_shut_receive) return close_connection(c, /*rst=*/true);
    if (c.guest_shut_send) (void)::shutdown(c.fd.get(), SHUT_WR);
  }
  update_interest(c);
}

}  // namespace ember
