#include "devices/virtio/vsock/vsock_packet.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"

namespace ember::vsock {
namespace {

// Wire offsets of struct virtio_vsock_hdr (§5.10.6); the struct is packed.
constexpr size_t kOffSrcCid = 0, kOffDstCid = 8, kOffSrcPort = 16, kOffDstPort = 20,
                 kOffLen = 24, kOffType = 28, kOffOp = 30, kOffFlags = 32, kOffBufAlloc = 36,
                 kOffFwdCnt = 40;

template <class T>
void put(HeaderBytes& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);  // little-endian host (virtio_defs.h)
}
template <class T>
T get(std::span<const uint8_t, kHeaderSize> b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

const char* op_name(uint16_t op) {
  switch (op) {
    case kOpRequest: return "REQUEST";
    case kOpResponse: return "RESPONSE";
    case kOpRst: return "RST";
    case kOpShutdown: return "SHUTDOWN";
    case kOpRw: return "RW";
    case kOpCreditUpdate: return "CREDIT_UPDATE";
    case kOpCreditRequest: return "CREDIT_REQUEST";
    default: return nullptr;
  }
}

}  // namespace

HeaderBytes encode_header(const PacketHeader& h) {
  HeaderBytes b{};
  put(b, kOffSrcCid, h.src_cid);
  put(b, kOffDstCid, h.dst_cid);
  put(b, kOffSrcPort, h.src_port);
  put(b, kOffDstPort, h.dst_port);
  put(b, kOffLen, h.len);
  put(b, kOffType, h.type);
  put(b, kOffOp, h.op);
  put(b, kOffFlags, h.flags);
  put(b, kOffBufAlloc, h.buf_alloc);
  put(b, kOffFwdCnt, h.fwd_cnt);
  return b;
}

PacketHeader decode_header(std::span<const uint8_t, kHeaderSize> b) {
  PacketHeader h;
  h.src_cid = get<uint64_t>(b, kOffSrcCid);
  h.dst_cid = get<uint64_t>(b, kOffDstCid);
  h.src_port = get<uint32_t>(b, kOffSrcPort);
  h.dst_port = get<uint32_t>(b, kOffDstPort);
  h.len = get<uint32_t>(b, kOffLen);
  h.type = get<uint16_t>(b, kOffType);
  h.op = get<uint16_t>(b, kOffOp);
  h.flags = get<uint32_t>(b, kOffFlags);
  h.buf_alloc = get<uint32_t>(b, kOffBufAlloc);
  h.fwd_cnt = get<uint32_t>(b, kOffFwdCnt);
  return h;
}

std::string describe_header(const PacketHeader& h) {
  const char* name = op_name(h.op);
  std::string s = name != nullptr ? name : "op " + std::to_string(h.op);
  if (h.type != kTypeStream) s += " type " + std::to_string(h.type);
  s += " len " + std::to_string(h.len) + " " + std::to_string(h.src_cid) + ":" +
       std::to_string(h.src_port) + " -> " + std::to_string(h.dst_cid) + ":" +
       std::to_string(h.dst_port);
  return s;
}

Result<TxParse> parse_tx_packet(const GuestMemory& mem, const DescriptorChain& chain,
                                TxPacket* out, std::string* problem) {
  out->payload.clear();
  uint64_t readable = 0;
  for (const auto& b : chain.buffers) {
    if (b.device_writable) {
      *problem = "tx packet has a device-writable buffer";
      return TxParse::kNoHeader;
    }
    readable += b.len;  // the queue bounds a chain to 2^32 bytes: no overflow
  }
  if (readable < kHeaderSize) {
    *problem = "tx packet of " + std::to_string(readable) + " bytes is shorter than the " +
               std::to_string(kHeaderSize) + "-byte header";
    return TxParse::kNoHeader;
  }

  // The header may be split over several buffers; the payload starts right after it.
  HeaderBytes raw{};
  size_t got = 0;
  for (const auto& b : chain.buffers) {
    ASSIGN_OR_RETURN(auto view, mem.slice(b.addr, b.len));
    size_t skip = 0;
    if (got < kHeaderSize) {
      const size_t n = std::min<size_t>(view.size(), kHeaderSize - got);
      std::memcpy(raw.data() + got, view.data(), n);
      got += n;
      skip = n;
      if (got == kHeaderSize) out->header = decode_header(raw);
    }
    if (got == kHeaderSize && skip < view.size())
      out->payload.push_back({view.data() + skip, view.size() - skip});
  }

  const uint32_t len = out->header.len;
  const uint64_t available = readable - kHeaderSize;
  if (len > kMaxPayload) {
    *problem = "payload length " + std::to_string(len) + " is over the " +
               std::to_string(kMaxPayload) + "-byte limit";
    return TxParse::kBadPayload;
  }
  if (len > available) {
    *problem = "payload length " + std::to_string(len) + " but the chain holds only " +
               std::to_string(available) + " bytes after the header";
    return TxParse::kBadPayload;
  }
  // Trim the views to exactly `len` bytes: a driver may hand over a larger buffer.
  size_t keep = len;
  size_t n = 0;
  for (; n < out->payload.size() && keep > 0; ++n) {
    iovec& v = out->payload[n];
    v.iov_len = std::min(v.iov_len, keep);
    keep -= v.iov_len;
  }
  out->payload.resize(n);
  return TxParse::kOk;
}

Result<bool> RxChainView::map(const GuestMemory& mem, const DescriptorChain& chain,
                              size_t min_size, std::string* problem) {
  spans_.clear();
  capacity_ = 0;
  for (const auto& b : chain.buffers) {
    if (!b.device_writable) {
      *problem = "receive chain has a driver-readable buffer";
      spans_.clear();
      capacity_ = 0;
      return false;
    }
    ASSIGN_OR_RETURN(auto view, mem.slice(b.addr, b.len));
    spans_.push_back(view);
    capacity_ += view.size();
  }
  if (capacity_ < min_size) {
    *problem = "receive chain of " + std::to_string(capacity_) + " bytes cannot hold " +
               std::to_string(min_size);
    return false;
  }
  return true;
}

void RxChainView::write(size_t at, std::span<const uint8_t> bytes) const {
  CHECK_MSG(at <= capacity_ && bytes.size() <= capacity_ - at, "write past an rx chain");
  size_t done = 0;
  for (const auto& s : spans_) {
    if (done == bytes.size()) break;
    if (at >= s.size()) {
      at -= s.size();
      continue;
    }
    const size_t n = std::min(s.size() - at, bytes.size() - done);
    std::memcpy(s.data() + at, bytes.data() + done, n);
    done += n;
    at = 0;
  }
}

void RxChainView::views(size_t at, size_t len, std::vector<iovec>* out) const {
  out->clear();
  for (const auto& s : spans_) {
    if (len == 0) break;
    if (at >= s.size()) {
      at -= s.size();
      continue;
    }
    const size_t n = std::min(s.size() - at, len);
    out->push_back({s.data() + at, n});
    len -= n;
    at = 0;
  }
}

}  // namespace ember::vsock
