// colo_bench URL MODE COUNT [--transport raw|beast] [--busy-poll] [--model M] [--text T] [--warmup N]
//            [--max-tokens N] [--samples FILE]  (every round trip in ns, one a line, for the driver's own statistics)
// Closed-loop round trips over one connection, one at a time, and a JSON line of
// percentiles in microseconds. MODE: ping (Ping -> Pong), classify (a non-streamed
// InferenceRequest to a classifier -> Result with its Signal), or stream (a streamed,
// greedy InferenceRequest of --max-tokens to a generative model; each sample line is
// "ttft_ns decode_ns tokens": send -> first Token, first Token -> last Token, and the
// Result's completion tokens). The same colo::Client codec runs over either transport,
// so the figures differ only by the transport.
// Driven by bench/e2e/sdk-roundtrip.ts (ping, classify), which runs the TypeScript client
// in the same run, and by bench/e2e/stream-floor.ts --client cpp (stream).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "colo/client.hpp"

#ifdef COLO_BENCH_WITH_BEAST
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace {
namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// Boost.Beast's synchronous websocket::stream as a colo::Transport.
class BeastTransport final : public colo::Transport {
 public:
  BeastTransport(const std::string& host, const std::string& port, const std::string& target) : ws_(ioc_) {
    tcp::resolver resolver(ioc_);
    auto ep = net::connect(ws_.next_layer(), resolver.resolve(host, port));
    ws_.next_layer().set_option(tcp::no_delay(true));
    ws_.handshake(host + ":" + std::to_string(ep.port()), target);
    ws_.binary(true);
    ws_.auto_fragment(false);
  }
  void send_binary(const uint8_t* d, size_t n) override { ws_.write(net::buffer(d, n)); }
  bool recv_binary(const uint8_t*& d, size_t& n, int) override {
    buf_.consume(buf_.size());
    ws_.read(buf_);
    auto data = buf_.cdata();
    d = static_cast<const uint8_t*>(data.data()), n = data.size();
    return true;
  }
  void close(uint16_t) noexcept override {
    beast::error_code ec;
    ws_.close(beast::websocket::close_code::normal, ec);
  }

 private:
  net::io_context ioc_;
  beast::websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buf_;
};
}  // namespace
#endif

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: colo_bench URL ping|classify|stream COUNT [--transport raw|beast] [--busy-poll] [--model M] [--text T] [--warmup N] [--max-tokens N] [--samples FILE]\n";
    return 2;
  }
  std::string url = argv[1], mode = argv[2], transport = "raw", model = "fin-sentiment",
              text = "$TSLA downgraded to sell at Goldman";
  size_t count = std::stoul(argv[3]), warmup = 200, max_tokens = 128;
  bool busy = false;
  std::string samples;
  for (int i = 4; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--transport") transport = val();
    else if (a == "--busy-poll") busy = true;
    else if (a == "--model") model = val();
    else if (a == "--text") text = val();
    else if (a == "--warmup") warmup = std::stoul(val());
    else if (a == "--samples") samples = val();
    else if (a == "--max-tokens") max_tokens = std::stoul(val());
  }
  try {
    colo::Options opts;
    opts.busy_poll = busy;
    std::unique_ptr<colo::Client> c;
    if (transport == "raw") {
      c = std::make_unique<colo::Client>(colo::Client::connect(url, opts));
    } else if (transport == "beast") {
#ifdef COLO_BENCH_WITH_BEAST
      // ws://host:port/path
      std::string rest = url.substr(5);
      size_t slash = rest.find('/'), colon = rest.rfind(':', slash);
      c = std::make_unique<colo::Client>(
          std::make_unique<BeastTransport>(rest.substr(0, colon), rest.substr(colon + 1, slash - colon - 1), rest.substr(slash)),
          opts);
#else
      std::cerr << "built without Boost.Beast (cmake -DCOLO_BENCH_BEAST=ON)\n";
      return 2;
#endif
    } else {
      std::cerr << "unknown transport " << transport << "\n";
      return 2;
    }
    colo::Request req;
    req.model = model;
    req.prompt = text;
    req.stream = false;
    std::vector<double> us;
    us.reserve(count);
    colo::Event ev;
    char id[32];
    if (mode == "stream") {
      req.stream = true;
      req.sampling.max_tokens = static_cast<uint32_t>(max_tokens);
      req.sampling.temperature = 0.0f;
      std::vector<std::string> lines;
      for (size_t i = 0; i < warmup + count; ++i) {
        std::snprintf(id, sizeof id, "s%zu", i);
        req.id = id;
        auto t0 = std::chrono::steady_clock::now();
        std::chrono::steady_clock::time_point first{}, last{};
        c->send(req);
        for (;;) {
          c->next(ev);
          if (ev.id != req.id) continue;
          if (ev.kind == colo::Event::Kind::Token) {
            last = std::chrono::steady_clock::now();
            if (first == std::chrono::steady_clock::time_point{}) first = last;
          } else if (ev.kind == colo::Event::Kind::Error) {
            throw colo::ColoError(ev.error);
          } else if (ev.kind == colo::Event::Kind::Result) {
            break;
          }
        }
        if (i < warmup) continue;
        auto ns = [](auto d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); };
        lines.push_back(std::to_string(ns(first - t0)) + " " + std::to_string(ns(last - first)) + " " +
                        std::to_string(ev.result.usage.completion_tokens));
      }
      c->close();
      FILE* f = samples.empty() ? stdout : std::fopen(samples.c_str(), "w");
      if (!f) throw std::runtime_error("cannot write " + samples);
      for (auto& l : lines) std::fprintf(f, "%s\n", l.c_str());
      if (f != stdout) std::fclose(f);
      return 0;
    }
    for (size_t i = 0; i < warmup + count; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      if (mode == "ping") {
        c->ping(-1);  // no timeout, as Beast's blocking read
      } else {
        std::snprintf(id, sizeof id, "b%zu", i);
        req.id = id;
        c->send(req);
        do c->next(ev); while (!((ev.kind == colo::Event::Kind::Result || ev.kind == colo::Event::Kind::Error) && ev.id == req.id));
        if (ev.kind == colo::Event::Kind::Error) throw colo::ColoError(ev.error);
        if (ev.result.signals.empty()) throw std::runtime_error("classifier Result without a signal");
      }
      auto dt = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      if (i >= warmup) us.push_back(dt);
    }
    c->close();
    if (!samples.empty()) {
      FILE* f = std::fopen(samples.c_str(), "w");
      if (!f) throw std::runtime_error("cannot write " + samples);
      for (double x : us) std::fprintf(f, "%.0f\n", x * 1000.0);
      std::fclose(f);
    }
    std::sort(us.begin(), us.end());
    auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))]; };
    double sum = 0;
    for (double x : us) sum += x;
    std::printf(
        "{\"client\":\"cpp-%s%s\",\"mode\":\"%s\",\"count\":%zu,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
        "\"p999_us\":%.1f,\"mean_us\":%.1f,\"min_us\":%.1f,\"max_us\":%.1f}\n",
        transport.c_str(), busy ? "-busypoll" : "", mode.c_str(), us.size(), pct(0.5), pct(0.9), pct(0.99), pct(0.999),
        sum / us.size(), us.front(), us.back());
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "colo_bench: " << e.what() << "\n";
    return 1;
  }
}
