// Colo C++ client: the WebSocket protocol of /v1/ws (schemas/colo.fbs) for execution engines.
//
// One Client is one connection, used from one thread. It never starts threads of its own.
// The hot path (next() on token frames, ping()) does not allocate once the buffers have
// grown: token ids and texts are views into the receive buffer, valid until the next call.
//
//   colo::Client c = colo::Client::connect("ws://127.0.0.1:8080/v1/ws", {.api_key = key});
//   colo::Request r;  r.id = "q1";  r.model = "stories260K";  r.prompt = "Once upon a time";
//   colo::Result res = c.complete(r, [](const colo::Event& e) { std::cout << e.text; });
//
// Errors are exceptions: ColoError (an Error frame, or an upgrade refused with a Colo code,
// `code()` is the stable wire code) and TransportError (the connection: CONNECT_FAILED,
// HANDSHAKE_FAILED, CLOSED, PROTOCOL, TIMEOUT).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "colo/transport.hpp"
#include "colo_generated.h"  // flatc --cpp --scoped-enums schemas/colo.fbs, generated at build time

namespace colo {

using wire::Direction;
using wire::ErrorCode;
using wire::FinishReason;
using wire::Role;
using wire::RouteKind;

/// Stable names, the same as src/core/errors.ts and the wire enum ("MODEL_NOT_FOUND").
const char* error_code_name(ErrorCode code);
/// "stop", "length", "cancelled", "deadline", "error".
const char* finish_reason_name(FinishReason reason);
/// "local", "remote", "cache".
const char* route_kind_name(RouteKind kind);
/// The code named `name`, if it is one.
std::optional<ErrorCode> error_code_from_name(std::string_view name);

struct Sampling {
  std::optional<uint32_t> max_tokens;  ///< server default 128 when absent
  std::optional<float> temperature;    ///< [0, 2], default 0.8
  std::optional<float> top_p;          ///< (0, 1], default 0.95
  std::optional<uint32_t> seed;        ///< absent: a random seed
  std::vector<std::string> stop;
};

struct Message {
  Role role = Role::User;
  std::string content;
};

/// An InferenceRequest. Give `prompt` or `messages` (a skill or classifier takes its text in prompt).
struct Request {
  std::string id;     ///< unique among this connection's in-flight requests
  std::string model;  ///< model or alias; empty: the server's default model
  std::string skill;  ///< skill name (sentiment, events, summary...)
  std::string prompt;
  std::vector<Message> messages;
  Sampling sampling;
  uint32_t deadline_ms = 0;  ///< latency budget from receipt; 0: the server default
  uint8_t priority = 0;      ///< 0 (lowest) to 255
  bool stream = true;        ///< TokenChunk frames before the Result
  std::vector<std::string> choices;  ///< score these answers instead of generating (2..64)
  std::string response_schema;       ///< JSON Schema the answer must follow
  std::vector<std::string> tickers;  ///< fan-out: one Decision (choices) or Signal (skill) per ticker
};

struct Usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  /// Of prompt_tokens, those the server's KV cache held or copied (0 where not known).
  uint32_t cached_tokens = 0;
};

struct Route {
  RouteKind kind = RouteKind::Local;
  std::string provider;
  std::string model;
  bool cached = false;
};

/// Server-side microseconds from receipt of the request.
struct Timings {
  uint64_t queue_us = 0;
  uint64_t ttft_us = 0;
  uint64_t total_us = 0;
};

/// One typed trading signal (classifier or skill).
struct Signal {
  std::string entity;
  std::string ticker;
  Direction direction = Direction::Neutral;
  float score = 0;       ///< [-1, 1]
  float confidence = 0;  ///< [0, 1]
  std::string label;
  std::string rationale;
  bool abstain = false;  ///< confidence below the threshold: do not act
};

/// One ticker's answer to a request with choices and tickers (fan-out).
struct Decision {
  std::string ticker;
  std::string choice;               ///< the most probable choice for this ticker
  std::vector<float> choice_probs;  ///< one per choice, request order
};

struct Result {
  std::string id;
  std::string text;
  FinishReason finish_reason = FinishReason::Stop;
  Usage usage;
  Route route;
  Timings timings;
  std::string skill;
  std::vector<Signal> signals;
  std::string choice;               ///< for a request with choices
  std::vector<float> choice_probs;  ///< one per choice, request order
  uint64_t cost_micros = 0;
  std::vector<Decision> decisions;  ///< choices + tickers: one per ticker, request order
};

/// An Error frame's content.
struct ErrorInfo {
  std::string id;  ///< empty when the frame that caused it could not be read
  ErrorCode code = ErrorCode::INTERNAL;
  std::string message;
  std::string field;  ///< the request field at fault (INVALID_ARGUMENT)
  uint32_t retry_after_ms = 0;
  Usage usage;               ///< tokens used before the request ended
  std::string partial_text;  ///< text streamed before PREEMPTED / SHUTTING_DOWN
  int http_status = 0;       ///< set when the WebSocket upgrade was refused
};

/// A Colo error with a stable code: an Error frame, a refused upgrade, or bad local input.
class ColoError : public std::runtime_error {
 public:
  explicit ColoError(ErrorInfo info);
  ErrorCode code() const { return info_.code; }
  const char* code_name() const { return error_code_name(info_.code); }
  const ErrorInfo& info() const { return info_; }

 private:
  ErrorInfo info_;
};

struct Pong {
  uint64_t nonce = 0;
  uint64_t server_time_ns = 0;  ///< server monotonic clock
  uint64_t rtt_ns = 0;          ///< measured by ping(); 0 from next()
};

/// One decoded server frame. Views (id, text) point into the receive buffer and are
/// valid until the next call on the Client; result and error are reused across calls.
struct Event {
  enum class Kind { Accepted, Token, Result, Error, Pong };
  Kind kind = Kind::Pong;
  std::string_view id;
  RouteKind route = RouteKind::Local;  ///< Accepted
  uint32_t index = 0;                  ///< Token
  std::string_view text;               ///< Token
  colo::Result result;                 ///< Result
  ErrorInfo error;                     ///< Error
  colo::Pong pong;                     ///< Pong
};

struct Options {
  std::string api_key;          ///< sent at upgrade as Authorization: Bearer
  int connect_timeout_ms = 5000;
  bool busy_poll = false;       ///< spin on a non-blocking socket instead of sleeping in poll()
  bool verify = true;           ///< run flatbuffers::Verifier on every server frame
  size_t max_frame_bytes = 64u << 20;
};

class Client {
 public:
  /// Opens ws://HOST:PORT/PATH with the built-in RFC 6455 transport. Throws TransportError,
  /// or ColoError(UNAUTHENTICATED, http_status 401) when the server refuses the key.
  static Client connect(const std::string& url, const Options& opts = {});
  /// Any transport (the bench passes a Boost.Beast one).
  explicit Client(std::unique_ptr<Transport> transport, const Options& opts = {});
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  /// Sends an InferenceRequest. Throws ColoError(INVALID_ARGUMENT) before sending bad input.
  void send(const Request& request);
  void cancel(std::string_view id);
  void send_ping(uint64_t nonce);
  /// The next server frame. False on timeout (timeout_ms < 0 waits for ever).
  bool next(Event& event, int timeout_ms = -1);

  /// Sends `request` and waits for its Result; each of its TokenChunks goes to on_token.
  /// Throws ColoError on its Error frame, TransportError(TIMEOUT) after timeout_ms (a
  /// Cancel is sent first). Frames of other request ids are skipped: multiplex with next().
  Result complete(const Request& request, const std::function<void(const Event&)>& on_token = {},
                  int timeout_ms = -1);
  /// One Ping/Pong round trip; other frames are skipped.
  Pong ping(int timeout_ms = 5000);
  /// Sends a close frame (1000) and closes the socket. Safe to call twice.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace colo
