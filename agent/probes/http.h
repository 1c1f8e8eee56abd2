// The http probe (http:// and https:// through libcurl): fetches the target's
// URL, all targets of a call at once (one curl multi handle, one thread).
//
// Result: status (the final HTTP status), bytes (body bytes received), ms.dns,
// ms.connect, ms.tls (https), ms.ttfb (first byte) and ms.total, each counted
// from the start of the request as curl reports them (so total >= ttfb >= tls
// >= connect >= dns), cert_days_left (https: days until the server's
// certificate expires, rounded down to 0.01), and ok, which is true when the
// transfer completed, the status is an expected one (expect_status, else any
// 2xx), the body contains expect_keyword (when one is given) and, for https,
// the certificate is valid for at least `cert_warn_days` more days. Otherwise
// error says why ("timeout", "status 503" (any 2xx expected), "status 503,
// expected 200", "keyword not found", "certificate expires in 3 days", or
// curl's reason). libcurl is loaded on the first round (curl_library.h); when
// it cannot be, the probe logs once and its results say "unsupported".
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "agent/probes/probe.h"

namespace mutuo::agent {

struct HttpConfig {
  long max_redirects = 5;             // redirects followed; 0: the first response counts
  std::string ca_file;                // extra trust anchors ("" = the system's CAs)
  uint64_t max_body_bytes = 1 << 20;  // larger bodies fail the probe ("body too large")
  int cert_warn_days = 14;            // fewer days left on the certificate: not ok
  std::string user_agent = "mutuo-agent";
};

class HttpProbe : public Probe {
 public:
  explicit HttpProbe(HttpConfig config);
  std::vector<ProbeResult> run(const std::vector<ProbeTarget>& targets, int64_t ts_ms) override;

 private:
  HttpConfig config_;
  std::once_flag unsupported_logged_;
};

std::unique_ptr<Probe> make_http_probe(const HttpConfig& config);

// Days from `now_s` (Unix seconds) until a certificate's "Expire date" as curl
// reports it (OpenSSL's "Mar  1 12:00:00 2030 GMT"); nullopt when unparsable.
std::optional<double> cert_days_left(const std::string& expire_date, int64_t now_s);

}  // namespace mutuo::agent
