// colo_unit: the C++ client's unit checks, no server (run by ctest). The handshake
// helpers against RFC 6455 / FIPS 180 vectors; the codec through an in-memory transport:
// what send() writes must verify as a ClientFrame with the fields asked for, and server
// frames built with flatc's own builders must decode to the typed values.
#include <cmath>
#include <deque>
#include <iostream>
#include <string>
#include <vector>

#include "colo/client.hpp"
#include "handshake.hpp"

namespace {
int failures = 0, checks = 0;
#define CHECK(cond)                                                         \
  do {                                                                      \
    ++checks;                                                               \
    if (!(cond)) {                                                          \
      ++failures;                                                           \
      std::cerr << __FILE__ << ":" << __LINE__ << ": FAILED " #cond "\n"; \
    }                                                                       \
  } while (0)

namespace fb = colo::wire;

struct Memory : colo::Transport {
  std::vector<std::vector<uint8_t>>* sent;
  std::deque<std::vector<uint8_t>>* inbox;
  std::vector<uint8_t> current;
  void send_binary(const uint8_t* d, size_t n) override { sent->emplace_back(d, d + n); }
  bool recv_binary(const uint8_t*& d, size_t& n, int) override {
    if (inbox->empty()) return false;
    current = std::move(inbox->front());
    inbox->pop_front();
    d = current.data(), n = current.size();
    return true;
  }
  void close(uint16_t) noexcept override {}
};

std::vector<uint8_t> server_frame(flatbuffers::FlatBufferBuilder& b, fb::ServerBody type, flatbuffers::Offset<void> body) {
  b.Finish(fb::CreateServerFrame(b, type, body), "COLO");
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

void handshake_vectors() {
  auto d = colo::detail::sha1(reinterpret_cast<const uint8_t*>("abc"), 3);
  CHECK(colo::detail::base64(d.data(), d.size()) == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  CHECK(colo::detail::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455 1.3
  auto u = colo::detail::parse_ws_url("ws://127.0.0.1:8080/v1/ws?api_key=x");
  CHECK(u.host == "127.0.0.1" && u.port == "8080" && u.target == "/v1/ws?api_key=x");
  auto v6 = colo::detail::parse_ws_url("ws://[::1]:9/v1/ws");
  CHECK(v6.host == "::1" && v6.port == "9" && v6.host_header == "[::1]:9");
  auto bare = colo::detail::parse_ws_url("ws://box");
  CHECK(bare.port == "80" && bare.target == "/");
  bool refused = false;
  try {
    colo::detail::parse_ws_url("wss://box/v1/ws");
  } catch (const colo::TransportError& e) {
    refused = e.kind() == colo::TransportError::Kind::ConnectFailed;
  }
  CHECK(refused);
  auto h = colo::detail::parse_response_head("HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\nX-A:  b");
  CHECK(h.status == 401 && h.headers["content-length"] == "12" && h.headers["x-a"] == "b");
  CHECK(colo::error_code_from_name("PREEMPTED") == colo::ErrorCode::PREEMPTED);
  CHECK(!colo::error_code_from_name("NOPE"));
}

void codec() {
  std::vector<std::vector<uint8_t>> sent;
  std::deque<std::vector<uint8_t>> inbox;
  auto mem = std::make_unique<Memory>();
  mem->sent = &sent;
  mem->inbox = &inbox;
  colo::Client c(std::move(mem));

  colo::Request r;
  r.id = "u1";
  r.model = "m";
  r.messages = {{colo::Role::System, "be brief"}, {colo::Role::User, "hi"}};
  r.sampling.max_tokens = 7;
  r.sampling.seed = 0;  // an optional scalar: 0 must still be written
  r.sampling.stop = {"\n", "END"};
  r.deadline_ms = 250;
  r.priority = 9;
  r.stream = false;
  r.choices = {"up", "down"};
  r.tickers = {"AAPL"};
  r.response_schema = "{}";
  c.send(r);
  CHECK(sent.size() == 1);
  flatbuffers::Verifier v(sent[0].data(), sent[0].size());
  CHECK(fb::VerifyClientFrameBuffer(v));
  const auto* req = fb::GetClientFrame(sent[0].data())->body_as_InferenceRequest();
  CHECK(req && req->id()->str() == "u1" && req->model()->str() == "m" && !req->prompt());
  CHECK(req->messages()->size() == 2 && req->messages()->Get(0)->role() == fb::Role::System);
  CHECK(req->sampling()->max_tokens() == 7 && req->sampling()->seed().has_value() && *req->sampling()->seed() == 0);
  CHECK(std::fabs(req->sampling()->temperature() - 0.8f) < 1e-6);  // absent: the schema default
  CHECK(req->sampling()->stop()->size() == 2 && req->deadline_ms() == 250 && req->priority() == 9);
  CHECK(!req->stream() && req->choices()->size() == 2 && req->tickers()->Get(0)->str() == "AAPL");
  CHECK(req->response_schema()->str() == "{}");

  bool threw = false;
  colo::Request bad;
  bad.id = "b";
  try {
    c.send(bad);  // neither prompt nor messages
  } catch (const colo::ColoError& e) {
    threw = e.code() == colo::ErrorCode::INVALID_ARGUMENT && e.info().field == "prompt";
  }
  CHECK(threw && sent.size() == 1);

  flatbuffers::FlatBufferBuilder b;
  inbox.push_back(server_frame(b, fb::ServerBody::TokenChunk, fb::CreateTokenChunkDirect(b, "u1", 0, " Once").Union()));
  b.Clear();
  {
    std::vector<flatbuffers::Offset<fb::Signal>> sigs{
        fb::CreateSignalDirect(b, "Tesla", "TSLA", fb::Direction::Bearish, -0.7f, 0.7f, "bearish", "", false)};
    std::vector<float> probs{0.25f, 0.75f};
    std::vector<float> dprobs{0.875f, 0.125f};
    std::vector<flatbuffers::Offset<fb::Decision>> decisions{fb::CreateDecisionDirect(b, "AAPL", "up", &dprobs)};
    auto usage = fb::CreateUsage(b, 3, 1, 2);
    auto route = fb::CreateRouteDirect(b, fb::RouteKind::Local, "onnx", "fin", false);
    auto timings = fb::CreateTimings(b, 1, 2, 3);
    inbox.push_back(server_frame(b, fb::ServerBody::Result,
                                 fb::CreateResultDirect(b, "u1", " Once", fb::FinishReason::Length, usage, route,
                                                        timings, "sentiment", &sigs, "down", &probs, 42, &decisions)
                                     .Union()));
  }
  colo::Event tokens;
  int n = 0;
  colo::Result res = c.complete(r, [&](const colo::Event& e) { n++, tokens.text = e.text; });
  CHECK(n == 1);
  CHECK(res.text == " Once" && res.finish_reason == colo::FinishReason::Length && res.usage.prompt_tokens == 3);
  CHECK(res.usage.cached_tokens == 2);
  CHECK(res.route.provider == "onnx" && res.timings.total_us == 3 && res.skill == "sentiment");
  CHECK(res.signals.size() == 1 && res.signals[0].ticker == "TSLA" && res.signals[0].direction == colo::Direction::Bearish);
  CHECK(res.choice == "down" && res.choice_probs.size() == 2 && res.choice_probs[1] == 0.75f && res.cost_micros == 42);
  CHECK(res.decisions.size() == 1 && res.decisions[0].ticker == "AAPL" && res.decisions[0].choice == "up" &&
        res.decisions[0].choice_probs.size() == 2 && res.decisions[0].choice_probs[0] == 0.875f);

  b.Clear();
  auto eu = fb::CreateUsage(b, 3, 5);
  inbox.push_back(server_frame(
      b, fb::ServerBody::Error,
      fb::CreateErrorDirect(b, "u1", fb::ErrorCode::PREEMPTED, "taken", nullptr, 40, eu, " Once upon").Union()));
  threw = false;
  try {
    c.complete(r);
  } catch (const colo::ColoError& e) {
    threw = e.code() == colo::ErrorCode::PREEMPTED && std::string(e.code_name()) == "PREEMPTED" &&
            e.info().retry_after_ms == 40 && e.info().usage.completion_tokens == 5 && e.info().partial_text == " Once upon";
  }
  CHECK(threw);

  b.Clear();  // a code from a newer server reads as INTERNAL, never as garbage
  inbox.push_back(server_frame(
      b, fb::ServerBody::Error, fb::CreateErrorDirect(b, "", static_cast<fb::ErrorCode>(999), "new").Union()));
  colo::Event ev;
  CHECK(c.next(ev, 0) && ev.kind == colo::Event::Kind::Error && ev.error.code == colo::ErrorCode::INTERNAL);

  inbox.push_back({1, 2, 3, 4, 5, 6, 7, 8, 9});  // not a Colo frame
  threw = false;
  try {
    c.next(ev, 0);
  } catch (const colo::TransportError& e) {
    threw = e.kind() == colo::TransportError::Kind::Protocol;
  }
  CHECK(threw);
  CHECK(!c.next(ev, 0));  // empty: a timeout, not an error
}
}  // namespace

int main() {
  handshake_vectors();
  codec();
  std::cout << "colo_unit: " << (checks - failures) << " passed, " << failures << " failed\n";
  return failures == 0 ? 0 : 1;
}
