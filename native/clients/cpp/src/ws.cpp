// The built-in RFC 6455 client transport over POSIX sockets.
// - TCP_NODELAY; one send() per message (header and masked payload in one reused buffer).
// - One receive buffer, grown to the largest message seen and then reused; a message is
//   handed out as a view into it (a fragmented one is joined in a second reused buffer).
// - Server pings are answered; a close frame is answered and reported as CLOSED.
// - busy_poll: spin on recv(MSG_DONTWAIT) instead of sleeping in poll(), trading a core
//   for the wake-up latency.
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "colo/transport.hpp"
#include "handshake.hpp"

namespace colo {

TransportError::TransportError(Kind kind, const std::string& message, int close_code, std::string reason)
    : std::runtime_error(message), kind_(kind), close_code_(close_code), reason_(std::move(reason)) {}

const char* TransportError::kind_name() const {
  switch (kind_) {
    case Kind::ConnectFailed: return "CONNECT_FAILED";
    case Kind::HandshakeFailed: return "HANDSHAKE_FAILED";
    case Kind::Closed: return "CLOSED";
    case Kind::Protocol: return "PROTOCOL";
    case Kind::Timeout: return "TIMEOUT";
  }
  return "PROTOCOL";
}

namespace {

using Clock = std::chrono::steady_clock;
using TE = TransportError;

enum : uint8_t { kCont = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA };

/// Milliseconds left until `deadline`; -1 for none.
int ms_left(const Clock::time_point* deadline) {
  if (!deadline) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

class WsTransport final : public Transport {
 public:
  WsTransport(int fd, const WsOptions& o) : fd_(fd), busy_(o.busy_poll), max_(o.max_message_bytes) {
    rbuf_.resize(64 * 1024);
    sbuf_.resize(4 * 1024);
    uint8_t seed[8];
    detail::random_bytes(seed, sizeof seed);
    std::memcpy(&rng_, seed, sizeof rng_);
    rng_ |= 1;
  }
  ~WsTransport() override { close(1000); }

  void handshake(const detail::Url& u, const WsOptions& o, UpgradeRefused* refused) {
    uint8_t key_raw[16];
    detail::random_bytes(key_raw, sizeof key_raw);
    std::string key = detail::base64(key_raw, sizeof key_raw);
    std::string req = "GET " + u.target + " HTTP/1.1\r\nHost: " + u.host_header +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                      "\r\nSec-WebSocket-Version: 13\r\n";
    if (!o.api_key.empty()) req += "Authorization: Bearer " + o.api_key + "\r\n";
    req += "\r\n";
    write_all(reinterpret_cast<const uint8_t*>(req.data()), req.size());

    auto deadline = Clock::now() + std::chrono::milliseconds(o.connect_timeout_ms);
    std::string head;
    size_t end;
    while ((end = std::string_view(reinterpret_cast<char*>(rbuf_.data()), rend_).find("\r\n\r\n")) ==
           std::string::npos) {
      if (rend_ > 16 * 1024) throw TE(TE::Kind::HandshakeFailed, "upgrade response head too long");
      if (!fill(&deadline)) throw TE(TE::Kind::Timeout, "no answer to the WebSocket upgrade in time");
    }
    head.assign(reinterpret_cast<char*>(rbuf_.data()), end);
    rstart_ = end + 4;
    auto r = detail::parse_response_head(head);
    if (r.status != 101) {
      size_t want = 0;
      auto cl = r.headers.find("content-length");
      if (cl != r.headers.end()) want = std::min<size_t>(std::strtoul(cl->second.c_str(), nullptr, 10), 64 * 1024);
      try {
        while (rend_ - rstart_ < want && fill(&deadline)) {
        }
      } catch (const TransportError&) {  // the server closed after the body: keep what came
      }
      std::string body(reinterpret_cast<char*>(rbuf_.data()) + rstart_, std::min(rend_ - rstart_, want));
      if (refused) *refused = UpgradeRefused{r.status, body};
      throw TE(TE::Kind::HandshakeFailed, "WebSocket upgrade refused: HTTP " + std::to_string(r.status) +
                                              (body.empty() ? "" : " " + body));
    }
    auto accept = r.headers.find("sec-websocket-accept");
    if (accept == r.headers.end() || accept->second != detail::accept_key(key))
      throw TE(TE::Kind::HandshakeFailed, "bad Sec-WebSocket-Accept in the upgrade response");
  }

  void send_binary(const uint8_t* data, size_t len) override { send_frame(kBinary, data, len); }

  bool recv_binary(const uint8_t*& data, size_t& len, int timeout_ms) override {
    Clock::time_point dl;
    const Clock::time_point* deadline = nullptr;
    if (timeout_ms >= 0) dl = Clock::now() + std::chrono::milliseconds(timeout_ms), deadline = &dl;
    bool fragmented = false;
    frag_.clear();
    for (;;) {
      // RFC 6455 5.2, one frame from [rstart_, rend_): (1) FIN and opcode; (2) MASK must be
      // 0 from a server; (3) payload length 7 bits, or 126 + 16 bits, or 127 + 64 bits;
      // (4) the payload. 5.4: a message is one binary frame or a binary frame followed by
      // continuations, FIN on the last; 5.5: control frames (ping, pong, close) may come
      // between fragments and are handled here.
      size_t avail = rend_ - rstart_;
      if (avail >= 2) {
        const uint8_t* p = rbuf_.data() + rstart_;
        bool fin = p[0] & 0x80;
        uint8_t op = p[0] & 0x0f;
        if (p[1] & 0x80) fail_protocol("server frame is masked");
        uint64_t plen = p[1] & 0x7f;
        size_t hlen = 2;
        if (plen == 126) {
          hlen = 4;
          if (avail >= 4) plen = (uint64_t(p[2]) << 8) | p[3];
        } else if (plen == 127) {
          hlen = 10;
          if (avail >= 10) {
            plen = 0;
            for (int i = 0; i < 8; ++i) plen = (plen << 8) | p[2 + i];
          }
        }
        if (avail >= hlen) {
          if (plen > max_) fail_protocol("message of " + std::to_string(plen) + " bytes is over max_frame_bytes");
          if (avail >= hlen + plen) {
            const uint8_t* payload = p + hlen;
            rstart_ += hlen + plen;
            switch (op) {
              case kBinary:
              case kCont:
                if (op == kCont && !fragmented) fail_protocol("continuation frame without a first frame");
                if (op == kBinary && fragmented) fail_protocol("new message inside a fragmented one");
                if (fin && !fragmented) {
                  data = payload, len = plen;
                  return true;
                }
                frag_.insert(frag_.end(), payload, payload + plen);
                if (frag_.size() > max_) fail_protocol("fragmented message over max_frame_bytes");
                fragmented = true;
                if (fin) {
                  data = frag_.data(), len = frag_.size();
                  return true;
                }
                continue;
              case kPing:
                pong_.assign(payload, payload + plen);
                send_frame(kPong, pong_.data(), pong_.size());
                continue;
              case kPong:
                continue;
              case kClose: {
                int code = plen >= 2 ? (payload[0] << 8) | payload[1] : 1005;
                std::string reason(reinterpret_cast<const char*>(payload) + (plen >= 2 ? 2 : 0),
                                   plen >= 2 ? plen - 2 : 0);
                close(1000);
                throw TE(TE::Kind::Closed, "server closed the connection (" + std::to_string(code) +
                                               (reason.empty() ? "" : " " + reason) + ")",
                         code, reason);
              }
              case kText:
                fail_protocol("server sent a text frame; Colo frames are binary");
              default:
                fail_protocol("unknown opcode " + std::to_string(op));
            }
          }
          if (hlen + plen > rbuf_.size()) rbuf_.resize(hlen + plen);  // only while growing
        }
      }
      if (!fill(deadline)) return false;
    }
  }

  void close(uint16_t code) noexcept override {
    if (fd_ < 0) return;
    if (!close_sent_) {
      close_sent_ = true;
      uint8_t body[2] = {uint8_t(code >> 8), uint8_t(code & 0xff)};
      try {
        send_frame(kClose, body, 2);
      } catch (...) {
      }
    }
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
  }

 private:
  [[noreturn]] void fail_protocol(const std::string& what) {
    close(1002);
    throw TE(TE::Kind::Protocol, what);
  }

  void ensure_open() {
    if (fd_ < 0) throw TE(TE::Kind::Closed, "connection is closed", 1006);
  }

  void send_frame(uint8_t op, const uint8_t* data, size_t len) {
    ensure_open();
    size_t hlen = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
    if (sbuf_.size() < hlen + 4 + len) sbuf_.resize(hlen + 4 + len);
    uint8_t* p = sbuf_.data();
    p[0] = 0x80 | op;
    if (len < 126) {
      p[1] = 0x80 | uint8_t(len);
    } else if (len <= 0xffff) {
      p[1] = 0x80 | 126, p[2] = uint8_t(len >> 8), p[3] = uint8_t(len);
    } else {
      p[1] = 0x80 | 127;
      for (int i = 0; i < 8; ++i) p[2 + i] = uint8_t(uint64_t(len) >> (56 - 8 * i));
    }
    // xorshift64 masking key: RFC 6455 asks for unpredictable keys to protect proxies'
    // caches from a hostile script; a trading engine talking to its own box has neither.
    rng_ ^= rng_ << 13, rng_ ^= rng_ >> 7, rng_ ^= rng_ << 17;
    uint8_t mask[4];
    std::memcpy(mask, &rng_, 4);
    std::memcpy(p + hlen, mask, 4);
    uint8_t* out = p + hlen + 4;
    uint64_t m8;
    uint8_t m8b[8] = {mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]};
    std::memcpy(&m8, m8b, 8);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
      uint64_t v;
      std::memcpy(&v, data + i, 8);
      v ^= m8;
      std::memcpy(out + i, &v, 8);
    }
    for (; i < len; ++i) out[i] = data[i] ^ mask[i & 3];
    write_all(p, hlen + 4 + len);
  }

  void write_all(const uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          pollfd pf{fd_, POLLOUT, 0};
          poll(&pf, 1, -1);
          continue;
        }
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw TE(TE::Kind::Closed, std::string("connection dropped while sending: ") + strerror(e), 1006);
      }
      p += w, n -= static_cast<size_t>(w);
    }
  }

  /// Reads more bytes into rbuf_ (compacting first). False on timeout.
  bool fill(const Clock::time_point* deadline) {
    ensure_open();
    if (rstart_ > 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + rstart_, rend_ - rstart_);
      rend_ -= rstart_;
      rstart_ = 0;
    }
    if (rend_ == rbuf_.size()) rbuf_.resize(rbuf_.size() * 2);
    for (;;) {
      ssize_t r;
      if (busy_) {
        r = ::recv(fd_, rbuf_.data() + rend_, rbuf_.size() - rend_, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          if (deadline && Clock::now() >= *deadline) return false;
          continue;
        }
      } else if (!deadline) {
        // No timeout: one blocking recv(), one syscall per wake-up.
        r = ::recv(fd_, rbuf_.data() + rend_, rbuf_.size() - rend_, 0);
      } else {
        // A timeout: take what is already there, else sleep in poll() until the deadline.
        r = ::recv(fd_, rbuf_.data() + rend_, rbuf_.size() - rend_, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          pollfd pf{fd_, POLLIN, 0};
          int pr = poll(&pf, 1, ms_left(deadline));
          if (pr == 0) return false;
          if (pr < 0 && errno != EINTR) throw TE(TE::Kind::Closed, std::string("poll: ") + strerror(errno), 1006);
          continue;
        }
      }
      if (r > 0) {
        rend_ += static_cast<size_t>(r);
        return true;
      }
      if (r < 0 && errno == EINTR) continue;
      std::string why = r == 0 ? "connection dropped by the server (no close frame)"
                               : std::string("connection dropped: ") + strerror(errno);
      ::close(fd_);
      fd_ = -1;
      throw TE(TE::Kind::Closed, why, 1006);
    }
  }

  int fd_;
  bool busy_;
  size_t max_;
  bool close_sent_ = false;
  uint64_t rng_ = 0;
  std::vector<uint8_t> rbuf_, sbuf_, frag_, pong_;
  size_t rstart_ = 0, rend_ = 0;
};

}  // namespace

std::unique_ptr<Transport> ws_connect(const std::string& url, const WsOptions& opts, UpgradeRefused* refused) {
  auto u = detail::parse_ws_url(url);
  int fd = detail::open_socket(u, opts.connect_timeout_ms);
  auto t = std::make_unique<WsTransport>(fd, opts);
  t->handshake(u, opts, refused);
  return t;
}

}  // namespace colo
