// The webhook's HTTP POST through libcurl: Content-Type application/json, a
// total timeout, no redirects followed (a webhook URL is configured exactly).
// Each call uses its own easy handle, so it may be called from any one thread
// at a time per channel. REQUIRES: curl_global_init() was called once by main.
#pragma once

#include "receiver/health/notifier.h"

namespace mutuo::health {

HttpPost curl_http_post(long timeout_ms = 5000);

}  // namespace mutuo::health
