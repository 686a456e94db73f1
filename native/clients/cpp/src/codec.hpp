// Internal: the FlatBuffers side of colo::Client (not installed). One Encoder per Client
// reuses its builder; decode() verifies a server frame and reads it into an Event in place.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "colo/client.hpp"

namespace colo::detail {

/// Throws ColoError(INVALID_ARGUMENT, field) for input the server would refuse.
void validate(const Request& r);

class Encoder {
 public:
  void request(const Request& r);  ///< call validate() first
  void cancel(std::string_view id);
  void ping(uint64_t nonce);
  const uint8_t* data() const { return b_.GetBufferPointer(); }
  size_t size() const { return b_.GetSize(); }

 private:
  void finish(wire::ClientBody type, flatbuffers::Offset<void> body);
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> strings(
      const std::vector<std::string>& v);
  flatbuffers::FlatBufferBuilder b_{1024};
  std::vector<flatbuffers::Offset<flatbuffers::String>> strs_;
  std::vector<flatbuffers::Offset<wire::Message>> msgs_;
};

/// Verifies (if asked) and decodes one server frame into `ev`. Throws TransportError(PROTOCOL).
void decode(const uint8_t* data, size_t len, bool verify, Event& ev);

/// Colo's refused upgrade body {"error":{"code":"...","message":"..."}}: one string field.
std::string json_string_field(const std::string& body, const std::string& key);

}  // namespace colo::detail
