// colo_stream URL MODEL PROMPT MAX_TOKENS
// Streams a completion: prints each token as it arrives, then, as the last line,
//   finish=<reason> tokens=<n> ttft_us=<n> total_us=<n>
// where tokens is the Result's completion_tokens and ttft_us / total_us are measured here,
// from just before the request is sent to the first token / the Result (client-side).
// Exit status: 0 on a Result, 1 on an Error frame (code on stderr), 2 on a connection failure.
// The API key, if any, comes from the environment variable COLO_API_KEY.
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "colo/client.hpp"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: colo_stream URL MODEL PROMPT MAX_TOKENS\n";
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  try {
    colo::Options opts;
    if (const char* key = std::getenv("COLO_API_KEY")) opts.api_key = key;
    colo::Client client = colo::Client::connect(argv[1], opts);

    colo::Request req;
    req.id = "stream-1";
    req.model = argv[2];
    req.prompt = argv[3];
    req.sampling.max_tokens = static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10));

    auto t0 = Clock::now();
    Clock::time_point first{};
    colo::Result r = client.complete(req, [&](const colo::Event& e) {
      if (first == Clock::time_point{}) first = Clock::now();
      std::cout << e.text << std::flush;
    });
    auto us = [&](Clock::time_point t) {
      return std::chrono::duration_cast<std::chrono::microseconds>(t - t0).count();
    };
    auto total = us(Clock::now());
    std::cout << "\nfinish=" << colo::finish_reason_name(r.finish_reason) << " tokens=" << r.usage.completion_tokens
              << " ttft_us=" << (first == Clock::time_point{} ? total : us(first)) << " total_us=" << total << "\n";
    client.close();
    return 0;
  } catch (const colo::ColoError& e) {
    std::cerr << "error " << e.code_name() << ": " << e.info().message << "\n";
    return 1;
  } catch (const colo::TransportError& e) {
    std::cerr << "connection " << e.kind_name() << ": " << e.what() << "\n";
    return 2;
  }
}
