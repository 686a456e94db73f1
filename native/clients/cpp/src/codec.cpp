// The FlatBuffers side of colo::Client: validation, encoding on one reused builder, and
// decoding of verified server frames in place (views for token text, reused strings).
#include "codec.hpp"

namespace colo {

namespace fb = colo::wire;

const char* error_code_name(ErrorCode code) { return fb::EnumNameErrorCode(code); }

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::Deadline: return "deadline";
    case FinishReason::Error: return "error";
  }
  return "error";
}

const char* route_kind_name(RouteKind k) {
  switch (k) {
    case RouteKind::Local: return "local";
    case RouteKind::Remote: return "remote";
    case RouteKind::Cache: return "cache";
  }
  return "local";
}

std::optional<ErrorCode> error_code_from_name(std::string_view name) {
  const auto* names = fb::EnumNamesErrorCode();
  for (int i = 0; names[i] != nullptr; ++i)
    if (name == names[i]) return static_cast<ErrorCode>(i);
  return std::nullopt;
}

namespace {
std::string describe(const ErrorInfo& e) {
  std::string s = std::string(error_code_name(e.code)) + ": " + e.message;
  if (!e.field.empty()) s += " (field " + e.field + ")";
  return s;
}

[[noreturn]] void invalid(const std::string& field, const std::string& msg) {
  ErrorInfo e;
  e.code = ErrorCode::INVALID_ARGUMENT;
  e.field = field;
  e.message = field + ": " + msg;
  throw ColoError(std::move(e));
}

void assign(std::string& out, const flatbuffers::String* s) {
  if (s) out.assign(s->data(), s->size());
  else out.clear();
}

std::string_view view(const flatbuffers::String* s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}
}  // namespace

ColoError::ColoError(ErrorInfo info) : std::runtime_error(describe(info)), info_(std::move(info)) {}

namespace detail {

/// Colo's refused upgrade: {"error":{"code":"UNAUTHENTICATED","message":"..."}}.
std::string json_string_field(const std::string& body, const std::string& key) {
  std::string pat = "\"" + key + "\":\"";
  size_t p = body.find(pat);
  if (p == std::string::npos) return {};
  p += pat.size();
  std::string out;
  for (; p < body.size() && body[p] != '"'; ++p) {
    if (body[p] == '\\' && p + 1 < body.size()) ++p;
    out.push_back(body[p]);
  }
  return out;
}

void validate(const Request& r) {
  if (r.id.empty() || r.id.size() > 128) invalid("id", "1 to 128 characters");
  if (r.prompt.empty() == r.messages.empty()) invalid("prompt", "give exactly one of prompt and messages");
  if (r.sampling.temperature && !(*r.sampling.temperature >= 0 && *r.sampling.temperature <= 2))
    invalid("sampling.temperature", "must be in [0, 2]");
  if (r.sampling.top_p && !(*r.sampling.top_p > 0 && *r.sampling.top_p <= 1))
    invalid("sampling.top_p", "must be in (0, 1]");
}

void Encoder::finish(fb::ClientBody type, flatbuffers::Offset<void> body) {
  fb::ClientFrameBuilder f(b_);
  f.add_body_type(type);
  f.add_body(body);
  b_.Finish(f.Finish(), fb::ClientFrameIdentifier());
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> Encoder::strings(
    const std::vector<std::string>& v) {
  if (v.empty()) return 0;
  strs_.clear();
  for (const auto& s : v) strs_.push_back(b_.CreateString(s));
  return b_.CreateVector(strs_);
}

void Encoder::request(const Request& r) {
  auto& b = b_;
  b.Clear();
  auto id = b.CreateString(r.id);
  auto model = r.model.empty() ? 0 : b.CreateString(r.model);
  auto prompt = r.prompt.empty() ? 0 : b.CreateString(r.prompt);
  auto skill = r.skill.empty() ? 0 : b.CreateString(r.skill);
  auto schema = r.response_schema.empty() ? 0 : b.CreateString(r.response_schema);
  auto choices = strings(r.choices);
  auto tickers = strings(r.tickers);
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Message>>> messages = 0;
  if (!r.messages.empty()) {
    msgs_.clear();
    for (const auto& m : r.messages) msgs_.push_back(fb::CreateMessage(b, m.role, b.CreateString(m.content)));
    messages = b.CreateVector(msgs_);
  }
  const Sampling& s = r.sampling;
  auto stop = strings(s.stop);
  fb::SamplingBuilder sb(b);
  if (s.max_tokens) sb.add_max_tokens(*s.max_tokens);
  if (s.temperature) sb.add_temperature(*s.temperature);
  if (s.top_p) sb.add_top_p(*s.top_p);
  if (s.seed) sb.add_seed(*s.seed);
  if (!s.stop.empty()) sb.add_stop(stop);
  auto sampling = sb.Finish();

  fb::InferenceRequestBuilder rb(b);
  rb.add_id(id);
  if (!r.model.empty()) rb.add_model(model);
  if (!r.prompt.empty()) rb.add_prompt(prompt);
  if (!r.messages.empty()) rb.add_messages(messages);
  rb.add_sampling(sampling);
  if (r.deadline_ms) rb.add_deadline_ms(r.deadline_ms);
  if (r.priority) rb.add_priority(r.priority);
  rb.add_stream(r.stream);
  if (!r.skill.empty()) rb.add_skill(skill);
  if (!r.choices.empty()) rb.add_choices(choices);
  if (!r.response_schema.empty()) rb.add_response_schema(schema);
  if (!r.tickers.empty()) rb.add_tickers(tickers);
  finish(fb::ClientBody::InferenceRequest, rb.Finish().Union());
}

void Encoder::cancel(std::string_view id) {
  auto& b = b_;
  b.Clear();
  auto s = b.CreateString(id.data(), id.size());
  finish(fb::ClientBody::Cancel, fb::CreateCancel(b, s).Union());
}

void Encoder::ping(uint64_t nonce) {
  auto& b = b_;
  b.Clear();
  finish(fb::ClientBody::Ping, fb::CreatePing(b, nonce).Union());
}

namespace {
void decode_result(const fb::Result* r, Event& ev) {
  Result& x = ev.result;
  ev.kind = Event::Kind::Result;
  assign(x.id, r->id());
  assign(x.text, r->text());
  x.finish_reason = r->finish_reason();
  x.usage = r->usage() ? Usage{r->usage()->prompt_tokens(), r->usage()->completion_tokens(),
                               r->usage()->cached_tokens()}
                       : Usage{};
  if (const auto* ro = r->route()) {
    x.route.kind = ro->kind();
    assign(x.route.provider, ro->provider());
    assign(x.route.model, ro->model());
    x.route.cached = ro->cached();
  } else {
    x.route = Route{};
  }
  x.timings = r->timings() ? Timings{r->timings()->queue_us(), r->timings()->ttft_us(), r->timings()->total_us()}
                           : Timings{};
  assign(x.skill, r->skill());
  x.signals.clear();
  if (const auto* sigs = r->signals()) {
    for (const auto* s : *sigs) {
      Signal g;
      assign(g.entity, s->entity());
      assign(g.ticker, s->ticker());
      int d = static_cast<int>(s->direction());
      g.direction = static_cast<Direction>(d > 0 ? 1 : d < 0 ? -1 : 0);
      g.score = s->score();
      g.confidence = s->confidence();
      assign(g.label, s->label());
      assign(g.rationale, s->rationale());
      g.abstain = s->abstain();
      x.signals.push_back(std::move(g));
    }
  }
  assign(x.choice, r->choice());
  x.choice_probs.clear();
  if (const auto* cp = r->choice_probs()) x.choice_probs.assign(cp->begin(), cp->end());
  x.cost_micros = r->cost_micros();
  x.decisions.clear();
  if (const auto* ds = r->decisions()) {
    for (const auto* d : *ds) {
      Decision g;
      assign(g.ticker, d->ticker());
      assign(g.choice, d->choice());
      if (const auto* cp = d->choice_probs()) g.choice_probs.assign(cp->begin(), cp->end());
      x.decisions.push_back(std::move(g));
    }
  }
  ev.id = x.id;
}
}  // namespace

void decode(const uint8_t* data, size_t len, bool verify, Event& ev) {
  if (len < 8 || !flatbuffers::BufferHasIdentifier(data, fb::ClientFrameIdentifier()))
    throw TransportError(TransportError::Kind::Protocol, "not a Colo frame (file identifier is not COLO)");
  if (verify) {
    flatbuffers::Verifier v(data, len);
    if (!v.VerifyBuffer<fb::ServerFrame>(fb::ClientFrameIdentifier()))
      throw TransportError(TransportError::Kind::Protocol, "server frame failed FlatBuffers verification");
  }
  const auto* f = flatbuffers::GetRoot<fb::ServerFrame>(data);
  switch (f->body_type()) {
    case fb::ServerBody::Accepted: {
      const auto* a = f->body_as_Accepted();
      ev.kind = Event::Kind::Accepted;
      ev.id = view(a->id());
      ev.route = a->route();
      return;
    }
    case fb::ServerBody::TokenChunk: {
      const auto* tc = f->body_as_TokenChunk();
      ev.kind = Event::Kind::Token;
      ev.id = view(tc->id());
      ev.index = tc->index();
      ev.text = view(tc->text());
      return;
    }
    case fb::ServerBody::Result:
      decode_result(f->body_as_Result(), ev);
      return;
    case fb::ServerBody::Error: {
      const auto* e = f->body_as_Error();
      ErrorInfo& x = ev.error;
      ev.kind = Event::Kind::Error;
      assign(x.id, e->id());
      x.code = e->code();
      if (!fb::EnumNameErrorCode(x.code)[0]) x.code = ErrorCode::INTERNAL;  // a newer server's code
      assign(x.message, e->message());
      assign(x.field, e->field());
      x.retry_after_ms = e->retry_after_ms();
      x.usage = e->usage() ? Usage{e->usage()->prompt_tokens(), e->usage()->completion_tokens(),
                                   e->usage()->cached_tokens()}
                           : Usage{};
      assign(x.partial_text, e->partial_text());
      x.http_status = 0;
      ev.id = x.id;
      return;
    }
    case fb::ServerBody::Pong: {
      const auto* p = f->body_as_Pong();
      ev.kind = Event::Kind::Pong;
      ev.id = {};
      ev.pong = Pong{p->nonce(), p->server_time_ns(), 0};
      return;
    }
    default:
      throw TransportError(TransportError::Kind::Protocol, "server frame with no body or an unknown body type");
  }
}

}  // namespace detail
}  // namespace colo
