// colo::Client: a Transport plus the codec; the one-at-a-time helpers complete() and ping().
#include "colo/client.hpp"

#include <chrono>

#include "codec.hpp"

namespace colo {

using Clock = std::chrono::steady_clock;

struct Client::Impl {
  std::unique_ptr<Transport> t;
  Options opts;
  detail::Encoder enc;
  uint64_t ping_seq = 0;
  void flush() { t->send_binary(enc.data(), enc.size()); }
};

Client Client::connect(const std::string& url, const Options& opts) {
  WsOptions w;
  w.api_key = opts.api_key;
  w.connect_timeout_ms = opts.connect_timeout_ms;
  w.busy_poll = opts.busy_poll;
  w.max_message_bytes = opts.max_frame_bytes;
  UpgradeRefused refused;
  try {
    return Client(ws_connect(url, w, &refused), opts);
  } catch (const TransportError& e) {
    if (e.kind() != TransportError::Kind::HandshakeFailed || refused.status == 0) throw;
    auto code = error_code_from_name(detail::json_string_field(refused.body, "code"));
    if (!code) throw;
    ErrorInfo info;
    info.code = *code;
    info.message = detail::json_string_field(refused.body, "message");
    info.http_status = refused.status;
    throw ColoError(std::move(info));
  }
}

Client::Client(std::unique_ptr<Transport> transport, const Options& opts) : impl_(std::make_unique<Impl>()) {
  impl_->t = std::move(transport);
  impl_->opts = opts;
}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

void Client::send(const Request& r) {
  detail::validate(r);
  impl_->enc.request(r);
  impl_->flush();
}

void Client::cancel(std::string_view id) {
  impl_->enc.cancel(id);
  impl_->flush();
}

void Client::send_ping(uint64_t nonce) {
  impl_->enc.ping(nonce);
  impl_->flush();
}

bool Client::next(Event& ev, int timeout_ms) {
  const uint8_t* data;
  size_t len;
  if (!impl_->t->recv_binary(data, len, timeout_ms)) return false;
  detail::decode(data, len, impl_->opts.verify, ev);
  return true;
}
namespace {
int remaining(Clock::time_point deadline, bool has) {
  if (!has) return -1;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}
}  // namespace

Result Client::complete(const Request& r, const std::function<void(const Event&)>& on_token, int timeout_ms) {
  send(r);
  const bool has = timeout_ms >= 0;
  auto deadline = Clock::now() + std::chrono::milliseconds(has ? timeout_ms : 0);
  Event ev;
  for (;;) {
    if (!next(ev, remaining(deadline, has))) {
      cancel(r.id);
      throw TransportError(TransportError::Kind::Timeout,
                           "no Result for " + r.id + " within " + std::to_string(timeout_ms) + " ms (cancel sent)");
    }
    if (ev.id != r.id) continue;
    if (ev.kind == Event::Kind::Token && on_token) on_token(ev);
    if (ev.kind == Event::Kind::Result) return std::move(ev.result);
    if (ev.kind == Event::Kind::Error) throw ColoError(std::move(ev.error));
  }
}

Pong Client::ping(int timeout_ms) {
  uint64_t nonce = ++impl_->ping_seq;
  auto t0 = Clock::now();
  send_ping(nonce);
  auto deadline = t0 + std::chrono::milliseconds(timeout_ms);
  Event ev;
  for (;;) {
    if (!next(ev, remaining(deadline, timeout_ms >= 0)))
      throw TransportError(TransportError::Kind::Timeout, "no Pong within " + std::to_string(timeout_ms) + " ms");
    if (ev.kind == Event::Kind::Pong && ev.pong.nonce == nonce) {
      ev.pong.rtt_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
      return ev.pong;
    }
  }
}

void Client::close() {
  if (impl_ && impl_->t) impl_->t->close(1000);
}

}  // namespace colo
