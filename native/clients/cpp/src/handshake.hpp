// Internal: URL parsing and the opening-handshake helpers (not installed).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "colo/transport.hpp"

namespace colo::detail {

struct Url {
  std::string host;
  std::string port;
  std::string target;       ///< path and query, "/v1/ws"
  std::string host_header;  ///< host[:port] as written
};

/// ws://host[:port][/path][?query]; throws TransportError(CONNECT_FAILED) otherwise.
Url parse_ws_url(const std::string& url);

/// getrandom(2), for the Sec-WebSocket-Key and the masking-key seed.
void random_bytes(uint8_t* out, size_t n);
/// A connected blocking TCP socket with TCP_NODELAY; throws TransportError(CONNECT_FAILED).
int open_socket(const Url& u, int timeout_ms);

std::array<uint8_t, 20> sha1(const uint8_t* data, size_t len);
std::string base64(const uint8_t* data, size_t len);
/// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2).
std::string accept_key(const std::string& key);

struct ResponseHead {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names
};
/// The status line and headers, up to (not including) the blank line.
ResponseHead parse_response_head(const std::string& head);

}  // namespace colo::detail
