#include "common/topics.h"

#include "common/ids.h"

namespace mutuo::topics {

namespace {

std::string join(std::string_view middle, std::string_view id, std::string_view tail = {}) {
  std::string t;
  t.reserve(kRoot.size() + middle.size() + id.size() + tail.size());
  t.append(kRoot).append(middle).append(id).append(tail);
  return t;
}

struct Shape {
  std::string_view prefix;
  std::string_view suffix;
  Kind kind;
};

constexpr Shape kShapes[] = {
    {"agents/", "/status", Kind::kStatus}, {"peers/", "", Kind::kPeer},
    {"assign/", "", Kind::kAssign},        {"results/", "", Kind::kResults},
    {"acks/", "", Kind::kAcks},            {"checks/", "", Kind::kCheck},
};

}  // namespace

std::string status(std::string_view agent) { return join("agents/", agent, "/status"); }
std::string peer(std::string_view agent) { return join("peers/", agent); }
std::string assign(std::string_view agent) { return join("assign/", agent); }
std::string results(std::string_view agent) { return join("results/", agent); }
std::string acks(std::string_view agent) { return join("acks/", agent); }
std::string check(std::string_view check_id) { return join("checks/", check_id); }

std::optional<Parsed> parse(std::string_view topic) {
  if (!topic.starts_with(kRoot)) return std::nullopt;
  topic.remove_prefix(kRoot.size());
  for (const Shape& s : kShapes) {
    if (!topic.starts_with(s.prefix) || !topic.ends_with(s.suffix)) continue;
    if (topic.size() < s.prefix.size() + s.suffix.size()) continue;
    std::string_view id =
        topic.substr(s.prefix.size(), topic.size() - s.prefix.size() - s.suffix.size());
    if (!valid_id(id)) return std::nullopt;
    return Parsed{s.kind, std::string(id)};
  }
  return std::nullopt;
}

}  // namespace mutuo::topics
