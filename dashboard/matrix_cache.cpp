#include "dashboard/matrix_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "dashboard/api_json.h"

namespace mutuo::dashboard {

namespace {

// How often the refresher looks whether a form went stale.
constexpr auto kRefresherTick = std::chrono::milliseconds(200);
// A background build waits at least this many times its predecessor's duration,
// so rebuilding a big matrix under a stream of results takes at most about a
// fifth of a core.
constexpr int64_t kBuildSpacing = 4;

}  // namespace

MatrixCache::MatrixCache(Sources sources) : sources_(std::move(sources)) {}

MatrixCache::~MatrixCache() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

uint64_t MatrixCache::version() const {
  return sources_.data_version ? sources_.data_version() : 0;
}

uint64_t MatrixCache::builds() const {
  std::lock_guard lock(mu_);
  return builds_;
}

bool MatrixCache::stale(const Form& form, int64_t now, uint64_t version) const {
  int64_t age = now - form.answer->built_ms;
  if (age < kMinIntervalMs) return false;
  return !sources_.data_version || version != form.version || age >= kMaxAgeMs;
}

std::shared_ptr<const CachedAnswer> MatrixCache::get(bool compact) {
  const int64_t now = sources_.now_ms();
  const uint64_t v = version();
  std::shared_ptr<const CachedAnswer> previous;
  bool first_ask = false;
  {
    std::lock_guard lock(mu_);
    Form& form = forms_[compact ? 1 : 0];
    const bool was_idle = now - form.last_asked_ms >= kIdleMs;
    form.last_asked_ms = now;
    if (form.answer) {
      // The refresher keeps a form it rebuilds fresh; one it left alone while
      // idle may be old, and is built here once.
      bool usable = refreshing_ ? !was_idle || !stale(form, now, v) : !stale(form, now, v);
      if (usable) return form.answer;
      previous = form.answer;
    } else {
      first_ask = true;
    }
  }
  if (first_ask) wake_.notify_all();
  std::unique_lock building(build_mu_, std::try_to_lock);
  if (!building.owns_lock()) {
    if (previous) return previous;  // someone is building: the last answer meanwhile
    building.lock();
    std::lock_guard lock(mu_);
    if (forms_[compact ? 1 : 0].answer) return forms_[compact ? 1 : 0].answer;
  }
  build(!compact, compact);
  std::lock_guard lock(mu_);
  return forms_[compact ? 1 : 0].answer;
}

void MatrixCache::build(bool full, bool compact) {
  const auto started = std::chrono::steady_clock::now();
  const uint64_t v = version();  // before the snapshot: a change during the build counts
  auto agents = sources_.presence->snapshot();
  auto store = sources_.store();
  std::erase_if(store.latest, [](const store::StoredResult& r) {
    return r.series.kind != TargetKind::kPeer || r.series.probe != kMatrixProbe;
  });
  std::vector<std::optional<double>> p50;
  if (sources_.medians) p50 = sources_.medians(store.latest);
  const int64_t now = sources_.now_ms();
  std::shared_ptr<const CachedAnswer> made[2];
  if (full) {
    made[0] = make_cached_answer(matrix_text(agents, store.latest, now, store.available, &p50),
                                 sources_.gzip_level, now);
  }
  if (compact) {
    made[1] =
        make_cached_answer(matrix_compact_text(agents, store.latest, now, store.available, &p50),
                           sources_.gzip_level, now);
  }
  const int64_t took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
  {
    std::lock_guard lock(mu_);
    for (int i = 0; i < 2; ++i) {
      if (!made[i]) continue;
      forms_[i].answer = made[i];
      forms_[i].version = v;
    }
    next_build_ms_ = now + std::max(kMinIntervalMs, kBuildSpacing * took_ms);
    ++builds_;
  }
  spdlog::debug("matrix rebuilt ({}{}): {} cells, {} bytes ({} gzipped) in {} ms",
                full ? "full" : "", compact ? (full ? ", compact" : "compact") : "",
                store.latest.size(), made[compact ? 1 : 0]->body.size(),
                made[compact ? 1 : 0]->gzipped.size(), took_ms);
}

void MatrixCache::start_refresher() {
  std::lock_guard lock(mu_);
  if (refreshing_) return;
  refreshing_ = true;
  refresher_ = std::thread([this] { refresher_loop(); });
}

void MatrixCache::refresher_loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, kRefresherTick);
    if (stop_) break;
    lock.unlock();
    const int64_t now = sources_.now_ms();
    const uint64_t v = version();
    lock.lock();
    bool want[2] = {false, false};
    if (now >= next_build_ms_) {
      for (int i = 0; i < 2; ++i) {
        const Form& f = forms_[i];
        want[i] = f.answer && now - f.last_asked_ms < kIdleMs && stale(f, now, v);
      }
    }
    if (!want[0] && !want[1]) continue;
    lock.unlock();
    {
      std::lock_guard building(build_mu_);
      try {
        build(want[0], want[1]);
      } catch (const std::exception& e) {
        // A bug must not end the thread: the requests would rebuild instead.
        spdlog::error("matrix rebuild failed: {}", e.what());
      }
    }
    lock.lock();
  }
}

}  // namespace mutuo::dashboard
