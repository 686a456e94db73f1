// The WebSocket transport under colo::Client: binary messages in, binary messages out.
// ws_connect() is the built-in RFC 6455 client over POSIX sockets (TCP_NODELAY, one
// reused send buffer and one receive buffer, optional busy-poll receive); any other
// implementation of Transport can be handed to colo::Client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace colo {

/// A connection-level failure. kind_name(): CONNECT_FAILED, HANDSHAKE_FAILED, CLOSED,
/// PROTOCOL, TIMEOUT. For CLOSED, close_code() is the peer's close code (1006: dropped
/// without a close frame) and reason() its reason text.
class TransportError : public std::runtime_error {
 public:
  enum class Kind { ConnectFailed, HandshakeFailed, Closed, Protocol, Timeout };
  TransportError(Kind kind, const std::string& message, int close_code = 0, std::string reason = {});
  Kind kind() const { return kind_; }
  const char* kind_name() const;
  int close_code() const { return close_code_; }
  const std::string& reason() const { return reason_; }

 private:
  Kind kind_;
  int close_code_;
  std::string reason_;
};

class Transport {
 public:
  virtual ~Transport() = default;
  /// Sends one binary message (a whole frame, never fragmented).
  virtual void send_binary(const uint8_t* data, size_t len) = 0;
  /// Receives the next binary message. False on timeout (timeout_ms < 0: no timeout).
  /// The view stays valid until the next call. Throws TransportError.
  virtual bool recv_binary(const uint8_t*& data, size_t& len, int timeout_ms) = 0;
  /// Sends a close frame if the connection is open, then closes. Never throws.
  virtual void close(uint16_t code) noexcept = 0;
};

struct WsOptions {
  std::string api_key;  ///< Authorization: Bearer KEY at upgrade; empty sends none
  int connect_timeout_ms = 5000;
  bool busy_poll = false;
  size_t max_message_bytes = 64u << 20;
};

/// The upgrade was answered with an HTTP status other than 101.
struct UpgradeRefused {
  int status = 0;
  std::string body;
};

/// Connects to ws://host[:port][/path][?query]. Throws TransportError; when the server
/// answers the upgrade with a non-101 status, `refused` (if given) receives it before the
/// HANDSHAKE_FAILED error is thrown, so the caller can read Colo's JSON error code.
std::unique_ptr<Transport> ws_connect(const std::string& url, const WsOptions& opts,
                                      UpgradeRefused* refused = nullptr);

}  // namespace colo
