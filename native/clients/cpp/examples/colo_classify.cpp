// colo_classify URL CLASSIFIER HEADLINE
// Classifies one headline with a classifier model served by Colo (an ONNX classifier:
// see the README, "Classifiers and signals") and prints its typed signal:
//   ticker=TSLA direction=bearish score=-0.81 confidence=0.81 label=bearish abstain=false rtt_us=212
// rtt_us is measured here, from just before the request is sent to the Result.
// Exit status: 0 on a Result, 1 on an Error frame, 2 on a connection failure.
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "colo/client.hpp"

static const char* direction_name(colo::Direction d) {
  return d == colo::Direction::Bullish ? "bullish" : d == colo::Direction::Bearish ? "bearish" : "neutral";
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: colo_classify URL CLASSIFIER HEADLINE\n";
    return 2;
  }
  try {
    colo::Options opts;
    if (const char* key = std::getenv("COLO_API_KEY")) opts.api_key = key;
    colo::Client client = colo::Client::connect(argv[1], opts);
    colo::Request req;
    req.id = "clf-1";
    req.model = argv[2];
    req.prompt = argv[3];
    req.stream = false;
    auto t0 = std::chrono::steady_clock::now();
    colo::Result r = client.complete(req);
    auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    if (r.signals.empty()) {
      std::cerr << "the Result carries no signal (is " << argv[2] << " a classifier?)\n";
      return 1;
    }
    for (const colo::Signal& s : r.signals) {
      std::cout << "ticker=" << (s.ticker.empty() ? "-" : s.ticker) << " direction=" << direction_name(s.direction)
                << " score=" << s.score << " confidence=" << s.confidence << " label=" << s.label
                << " abstain=" << (s.abstain ? "true" : "false") << " rtt_us=" << rtt << "\n";
    }
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
