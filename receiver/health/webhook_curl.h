// The webhook's HTTP POST through libcurl: Content-Type application/json, a
// total timeout, no redirects followed (a webhook URL is configured exactly).
// Each call uses its own easy handle. The first curl_http_post() runs
// curl_global_init() (not thread-safe): make the transports in main before
// starting threads that use libcurl.
#pragma once

#include "receiver/health/notifier.h"

namespace mutuo::health {

HttpPost curl_http_post(long timeout_ms = 5000);

}  // namespace mutuo::health
