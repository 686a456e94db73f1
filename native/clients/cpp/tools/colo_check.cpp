// colo_check URL SCENARIO [ARGS...]: the C++ side of the SDK conformance suite
// (test/model/sdk-conformance.test.ts). The Python twin is
// native/clients/python/examples/check.py; both print the same JSON lines, one per event.
//
//   ping                      three Ping/Pong round trips
//   stream MODEL PROMPT MAX   greedy streamed completion: chunks, index order, text
//   result MODEL PROMPT MAX   greedy non-streamed completion (no TokenChunk expected)
//   cancel MODEL              cancel after the first token, then one more request
//   deadline MODEL MS         a long request with deadline_ms = MS
//   classify MODEL TEXT       a classifier request: the typed signals
//   bad-model                 a request for a model that does not exist
//   wait-close MODEL          a long stream; prints "ready" at its first token, then waits
//                             for the server to close the connection
// The API key, if any, comes from COLO_API_KEY. Exit: 0 done, 1 ColoError, 2 TransportError.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "colo/client.hpp"

namespace {

std::string q(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += static_cast<char>(c);
    else if (c == '\n') o += "\\n";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else o += static_cast<char>(c);
  }
  return o + "\"";
}

void emit(const std::string& json) { std::cout << json << std::endl; }

std::string result_json(const colo::Result& r, int chunks, bool indexes_ok, const std::string& streamed) {
  std::ostringstream o;
  o << "{\"event\":\"result\",\"id\":" << q(r.id) << ",\"finish\":" << q(colo::finish_reason_name(r.finish_reason))
    << ",\"tokens\":" << r.usage.completion_tokens << ",\"prompt_tokens\":" << r.usage.prompt_tokens
    << ",\"chunks\":" << chunks << ",\"indexes_ok\":" << (indexes_ok ? "true" : "false")
    << ",\"streamed\":" << q(streamed) << ",\"text\":" << q(r.text) << ",\"route\":" << q(colo::route_kind_name(r.route.kind))
    << ",\"provider\":" << q(r.route.provider) << ",\"model\":" << q(r.route.model)
    << ",\"total_us\":" << r.timings.total_us << ",\"signals\":[";
  for (size_t i = 0; i < r.signals.size(); ++i) {
    const auto& s = r.signals[i];
    o << (i ? "," : "") << "{\"ticker\":" << q(s.ticker) << ",\"direction\":" << static_cast<int>(s.direction)
      << ",\"label\":" << q(s.label) << ",\"score\":" << s.score << ",\"confidence\":" << s.confidence
      << ",\"abstain\":" << (s.abstain ? "true" : "false") << "}";
  }
  o << "]}";
  return o.str();
}

std::string error_json(const colo::ErrorInfo& e, int chunks = 0) {
  std::ostringstream o;
  o << "{\"event\":\"error\",\"id\":" << q(e.id) << ",\"code\":" << q(colo::error_code_name(e.code))
    << ",\"message\":" << q(e.message) << ",\"field\":" << q(e.field) << ",\"retry_after_ms\":" << e.retry_after_ms
    << ",\"http_status\":" << e.http_status << ",\"chunks\":" << chunks << "}";
  return o.str();
}

/// Runs one request to its end, printing its final event. True on a Result.
bool run(colo::Client& c, const colo::Request& r, bool cancel_after_first = false, bool ready_on_first = false) {
  c.send(r);
  colo::Event ev;
  int chunks = 0;
  bool ok = true;
  std::string streamed;
  for (;;) {
    c.next(ev);
    if (ev.id != r.id) continue;
    if (ev.kind == colo::Event::Kind::Token) {
      ok = ok && ev.index == static_cast<uint32_t>(chunks);
      streamed.append(ev.text);
      if (chunks++ == 0) {
        if (cancel_after_first) c.cancel(r.id);
        if (ready_on_first) emit("{\"event\":\"ready\"}");
      }
    } else if (ev.kind == colo::Event::Kind::Result) {
      emit(result_json(ev.result, chunks, ok, streamed));
      return true;
    } else if (ev.kind == colo::Event::Kind::Error) {
      emit(error_json(ev.error, chunks));
      return false;
    }
  }
}

colo::Request request(const std::string& id, const std::string& model, const std::string& prompt, uint32_t max,
                      bool stream) {
  colo::Request r;
  r.id = id;
  r.model = model;
  r.prompt = prompt;
  r.sampling.max_tokens = max;
  r.sampling.temperature = 0.0f;
  r.stream = stream;
  return r;
}

int scenario(colo::Client& c, const std::string& name, int argc, char** argv) {
  auto arg = [&](int i) -> std::string {
    if (i >= argc) throw std::invalid_argument("scenario " + name + ": missing argument " + std::to_string(i - 2));
    return argv[i];
  };
  const std::string once = "Once upon a time";
  if (name == "ping") {
    for (int i = 0; i < 3; ++i) {
      colo::Pong p = c.ping();
      emit("{\"event\":\"pong\",\"nonce\":" + std::to_string(p.nonce) + ",\"rtt_us\":" + std::to_string(p.rtt_ns / 1000) +
           ",\"server_time_ns\":" + std::to_string(p.server_time_ns) + "}");
    }
    return 0;
  }
  if (name == "stream" || name == "result")
    return run(c, request("q1", arg(3), arg(4), std::stoul(arg(5)), name == "stream")) ? 0 : 1;
  if (name == "cancel") {
    run(c, request("long", arg(3), once, 480, true), true);
    return run(c, request("after", arg(3), once, 4, true)) ? 0 : 1;
  }
  if (name == "deadline") {
    colo::Request r = request("dl", arg(3), once, 480, true);
    r.deadline_ms = static_cast<uint32_t>(std::stoul(arg(4)));
    return run(c, r) ? 0 : 1;
  }
  if (name == "classify") return run(c, request("clf", arg(3), arg(4), 1, false)) ? 0 : 1;
  if (name == "bad-model") return run(c, request("bad", "no-such-model", once, 4, true)) ? 0 : 1;
  if (name == "wait-close") {
    run(c, request("held", arg(3), once, 480, true), false, true);
    colo::Event ev;
    for (;;) c.next(ev);  // until the server closes: TransportError
  }
  throw std::invalid_argument("unknown scenario " + name);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: colo_check URL SCENARIO [ARGS...]\n";
    return 2;
  }
  try {
    colo::Options opts;
    if (const char* key = std::getenv("COLO_API_KEY")) opts.api_key = key;
    colo::Client c = colo::Client::connect(argv[1], opts);
    emit("{\"event\":\"connected\"}");
    int rc = scenario(c, argv[2], argc, argv);
    c.close();
    return rc;
  } catch (const colo::ColoError& e) {
    emit(error_json(e.info()));
    return 1;
  } catch (const colo::TransportError& e) {
    emit(std::string("{\"event\":\"transport_error\",\"kind\":") + q(e.kind_name()) +
         ",\"close_code\":" + std::to_string(e.close_code()) + ",\"reason\":" + q(e.reason()) +
         ",\"message\":" + q(e.what()) + "}");
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "colo_check: " << e.what() << "\n";
    return 3;
  }
}
