#include "receiver/health/second_opinions.h"

#include <algorithm>
#include <set>

namespace mutuo::health {

SecondOpinions::SecondOpinions(SecondOpinionConfig config, LabelsOf labels_of)
    : config_(config), labels_of_(std::move(labels_of)), tokens_(config.per_minute) {}

std::vector<ProbeRequest> SecondOpinions::requests(const std::vector<Suspect>& suspects,
                                                   int64_t now_ms) {
  std::vector<ProbeRequest> out;
  if (config_.want == 0) return out;
  if (tokens_ms_ != 0 && now_ms > tokens_ms_) {
    tokens_ = std::min(
        config_.per_minute,
        tokens_ + config_.per_minute * static_cast<double>(now_ms - tokens_ms_) / 60'000.0);
  }
  tokens_ms_ = now_ms;
  // Those due, the longest waiting first, so a storm cannot starve a subject.
  std::vector<std::pair<const Suspect*, Pace*>> due;
  for (const Suspect& s : suspects) {
    auto [it, fresh] = pace_.try_emplace(s.subject);
    Pace& p = it->second;
    if (fresh) p.gap_ms = config_.every_ms;
    p.last_seen_ms = now_ms;
    if (now_ms >= p.next_ms) due.emplace_back(&s, &p);
  }
  std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
    return a.second->next_ms < b.second->next_ms;
  });
  for (const auto& [sp, pp] : due) {
    const Suspect& s = *sp;
    Pace& p = *pp;
    if (tokens_ < 1) {
      ++stats_.rate_limited;
      continue;
    }
    tokens_ -= 1;
    p.next_ms = now_ms + p.gap_ms;
    p.gap_ms = std::min(p.gap_ms * 2, std::max(config_.max_every_ms, config_.every_ms));

    ProbeRequest r;
    r.subject = s.subject;
    r.ts_ms = now_ms;
    r.reason = "first-failure";
    r.want = std::min(config_.want, kMaxProbeRequestWant);
    r.failing = s.failing;
    r.observers = s.observers;
    r.failing.resize(std::min(r.failing.size(), kMaxProbeRequestObservers));
    r.observers.resize(std::min(r.observers.size(), kMaxProbeRequestObservers));
    std::map<std::string, std::set<std::string>> avoid;
    for (const auto& o : r.failing) {
      for (const auto& [key, value] : labels_of_(o)) avoid[key].insert(value);
    }
    for (auto& [key, values] : avoid) {
      if (r.avoid.size() == 16) break;
      auto& list = r.avoid[key];
      for (const auto& v : values) {
        if (list.size() == 64) break;
        list.push_back(v);
      }
    }
    ++stats_.requested;
    out.push_back(std::move(r));
  }
  // A subject clear for a whole gap starts again at every_ms.
  std::erase_if(
      pace_, [&](const auto& kv) { return now_ms - kv.second.last_seen_ms >= config_.every_ms; });
  return out;
}

}  // namespace mutuo::health
