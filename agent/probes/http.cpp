#include "agent/probes/http.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <mutex>

#include "agent/probes/curl_library.h"
#include "common/clock.h"

namespace mutuo::agent {

namespace {

struct Transfer {
  const ProbeTarget* target = nullptr;
  ProbeResult* result = nullptr;
  CURL* easy = nullptr;
  uint64_t max_bytes = 0;
  uint64_t bytes = 0;
  bool too_big = false;
  bool keyword_found = false;
  std::string tail;  // the end of the body so far, to find a keyword split across chunks
  char error[CURL_ERROR_SIZE] = {};
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  t->bytes += len;
  if (t->bytes > t->max_bytes) {
    t->too_big = true;
    return 0;  // aborts the transfer
  }
  const std::string& kw = t->target->expect_keyword;
  if (!kw.empty() && !t->keyword_found) {
    t->tail.append(data, len);
    if (t->tail.find(kw) != std::string::npos) t->keyword_found = true;
    if (t->tail.size() >= kw.size()) t->tail.erase(0, t->tail.size() - (kw.size() - 1));
  }
  return len;
}

double seconds_to_ms(curl_off_t us) { return static_cast<double>(us) / 1000.0; }

bool status_expected(long status, const std::vector<uint16_t>& expected) {
  if (expected.empty()) return status >= 200 && status <= 299;
  return std::find(expected.begin(), expected.end(), status) != expected.end();
}

// "status 503" (any 2xx expected), "status 503, expected 200", "..., expected 200 or 204".
std::string status_error(long status, const std::vector<uint16_t>& expected) {
  std::string e = "status " + std::to_string(status);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    e += i == 0 ? ", expected " : i + 1 == expected.size() ? " or " : ", ";
    e += std::to_string(expected[i]);
  }
  return e;
}

}  // namespace

std::optional<double> cert_days_left(const std::string& expire_date, int64_t now_s) {
  std::tm tm{};
  const char* end = strptime(expire_date.c_str(), "%b %d %H:%M:%S %Y", &tm);
  if (end == nullptr) return std::nullopt;
  time_t expires = timegm(&tm);
  return static_cast<double>(expires - now_s) / 86400.0;
}

HttpProbe::HttpProbe(HttpConfig config) : config_(std::move(config)) {}

std::unique_ptr<Probe> make_http_probe(const HttpConfig& config) {
  return std::make_unique<HttpProbe>(config);
}

std::vector<ProbeResult> HttpProbe::run(const std::vector<ProbeTarget>& targets, int64_t ts_ms) {
  std::vector<ProbeResult> results;
  results.reserve(targets.size());
  for (const auto& t : targets) results.push_back(empty_result(t, "http", ts_ms));
  std::string why;
  const CurlLibrary* curl = curl_library(&why);
  if (curl == nullptr) {
    std::call_once(unsupported_logged_, [&] { spdlog::warn("http: unsupported: {}", why); });
    for (auto& r : results) {
      r.ok = false;
      r.error = "unsupported";
    }
    return results;
  }
  std::vector<Transfer> transfers(targets.size());
  CURLM* multi = curl->multi_init();
  for (std::size_t i = 0; i < targets.size(); ++i) {
    Transfer& x = transfers[i];
    x.target = &targets[i];
    x.result = &results[i];
    x.max_bytes = config_.max_body_bytes;
    x.easy = curl->easy_init();
    CURL* e = x.easy;
    curl->easy_setopt(e, CURLOPT_URL, targets[i].url.c_str());
    curl->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");  // no file://, no ftp://
    curl->easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl->easy_setopt(e, CURLOPT_FOLLOWLOCATION, config_.max_redirects > 0 ? 1L : 0L);
    curl->easy_setopt(e, CURLOPT_MAXREDIRS, config_.max_redirects);
    curl->easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(targets[i].timeout.count()));
    curl->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl->easy_setopt(e, CURLOPT_USERAGENT, config_.user_agent.c_str());
    curl->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl->easy_setopt(e, CURLOPT_WRITEDATA, &x);
    curl->easy_setopt(e, CURLOPT_ERRORBUFFER, x.error);
    curl->easy_setopt(e, CURLOPT_CERTINFO, 1L);
    curl->easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl->easy_setopt(e, CURLOPT_PRIVATE, &x);
    if (!config_.ca_file.empty()) curl->easy_setopt(e, CURLOPT_CAINFO, config_.ca_file.c_str());
    curl->multi_add_handle(multi, e);
  }

  int running = 0;
  do {
    if (curl->multi_perform(multi, &running) != CURLM_OK) break;
    if (running > 0) curl->multi_poll(multi, nullptr, 0, 1000, nullptr);
  } while (running > 0);

  int queued = 0;
  while (CURLMsg* msg = curl->multi_info_read(multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* x = nullptr;
    curl->easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&x));
    ProbeResult& r = *x->result;
    CURL* e = x->easy;
    const CURLcode code = msg->data.result;
    long status = 0;
    curl->easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (status > 0) r.status = static_cast<int>(status);
    r.bytes = x->bytes;
    curl_off_t t = 0;
    if (curl->easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &t) == CURLE_OK && t > 0) {
      r.phase_ms["dns"] = seconds_to_ms(t);
    }
    if (curl->easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t > 0) {
      r.phase_ms["connect"] = seconds_to_ms(t);
    }
    if (curl->easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &t) == CURLE_OK && t > 0) {
      r.phase_ms["tls"] = seconds_to_ms(t);
    }
    if (curl->easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &t) == CURLE_OK && t > 0) {
      r.phase_ms["ttfb"] = seconds_to_ms(t);
    }
    if (curl->easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &t) == CURLE_OK && t > 0) {
      r.phase_ms["total"] = seconds_to_ms(t);
    }
    std::optional<double> days;
    curl_certinfo* certs = nullptr;
    if (curl->easy_getinfo(e, CURLINFO_CERTINFO, &certs) == CURLE_OK && certs != nullptr &&
        certs->num_of_certs > 0) {
      for (curl_slist* s = certs->certinfo[0]; s != nullptr; s = s->next) {
        std::string line = s->data;
        if (line.starts_with("Expire date:")) {
          days = cert_days_left(line.substr(12), now_ms() / 1000);
        }
      }
    }
    if (days) r.cert_days_left = std::floor(*days * 100.0) / 100.0;  // never rounds up

    const ProbeTarget& target = *x->target;
    if (code != CURLE_OK) {
      if (x->too_big) {
        r.error = "body too large";
      } else if (code == CURLE_OPERATION_TIMEDOUT) {
        r.error = "timeout";
      } else if (code == CURLE_COULDNT_CONNECT) {
        r.error = "refused";
      } else {
        r.error = x->error[0] != '\0' ? x->error : curl->easy_strerror(code);
      }
    } else if (!status_expected(status, target.expect_status)) {
      r.error = status_error(status, target.expect_status);
    } else if (!target.expect_keyword.empty() && !x->keyword_found) {
      r.error = "keyword not found";
    } else if (days && *days < config_.cert_warn_days) {
      r.error = *days < 0 ? "certificate expired"
                          : "certificate expires in " +
                                std::to_string(static_cast<int>(std::floor(*days))) + " days";
    }
    r.ok = r.error.empty();
  }
  for (Transfer& x : transfers) {
    curl->multi_remove_handle(multi, x.easy);
    curl->easy_cleanup(x.easy);
    if (!x.result->ok.has_value()) {  // never finished (the multi handle failed)
      x.result->ok = false;
      x.result->error = "not run";
    }
  }
  curl->multi_cleanup(multi);
  return results;
}

}  // namespace mutuo::agent
