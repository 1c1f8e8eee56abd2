// The webhook channel (receiver/health/notifier.h): JSON body, retries with
// backoff, refusals, a per-channel rate limit, a bounded queue; and the libcurl
// transport against a real HTTP server on loopback.
#include <curl/curl.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <thread>

#include "receiver/health/notifier.h"
#include "receiver/health/webhook_curl.h"

using mutuo::health::HttpResponse;
using mutuo::health::Notice;
using mutuo::health::NoticeKind;
using mutuo::health::WebhookChannel;
using mutuo::health::WebhookOptions;

namespace {

Notice down_notice(const std::string& agent) {
  Notice n;
  n.kind = NoticeKind::kAlert;
  n.alert.subject = "peer/" + agent;
  n.alert.state = mutuo::HealthState::kDown;
  n.alert.since_ms = 1000;
  n.alert.ts_ms = 2000;
  n.alert.cause = "target";
  n.alert.observers = {{"a", "fail"}, {"b", "fail"}};
  return n;
}

// An endpoint that answers each call with the next scripted status.
struct Scripted {
  std::deque<int> statuses;
  std::vector<std::pair<int64_t, std::string>> calls;  // when, body
  int64_t* clock;
  mutuo::health::HttpPost post() {
    return [this](const std::string&, const std::string& body) -> HttpResponse {
      calls.push_back({*clock, body});
      int s = statuses.empty() ? 200 : statuses.front();
      if (!statuses.empty()) statuses.pop_front();
      return {s, s == 0 ? "connection refused" : ""};
    };
  }
};

}  // namespace

TEST_CASE("the webhook body is the alert message with the notice kind") {
  auto body = nlohmann::json::parse(mutuo::health::webhook_body(down_notice("d"), "ops"));
  CHECK(body["v"] == 1);
  CHECK(body["kind"] == "alert");
  CHECK(body["channel"] == "ops");
  CHECK(body["alert"]["subject"] == "peer/d");
  CHECK(body["alert"]["state"] == "down");
  CHECK(body["alert"]["observers"]["a"] == "fail");
  // The alert inside decodes as the retained message does.
  CHECK(mutuo::decode_alert(body["alert"].dump()).ok());
}

TEST_CASE("a failing endpoint is retried with doubling backoff, then given up") {
  int64_t now = 0;
  Scripted ep{{500, 0, 503, 429, 502}, {}, &now};
  WebhookOptions o;
  o.max_attempts = 5;
  o.backoff_initial_ms = 1000;
  o.backoff_max_ms = 4000;
  WebhookChannel ch(o, ep.post());
  ch.submit(down_notice("d"), now);
  for (now = 0; now <= 30'000; now += 100) ch.pump(now);
  REQUIRE(ep.calls.size() == 5);
  CHECK(ep.calls[0].first == 0);
  CHECK(ep.calls[1].first == 1000);
  CHECK(ep.calls[2].first == 3000);
  CHECK(ep.calls[3].first == 7000);
  CHECK(ep.calls[4].first == 11000);  // capped at 4 s
  CHECK(ch.stats().failed == 1);
  CHECK(ch.stats().retried == 4);
  CHECK(ch.next_due_ms() == INT64_MAX);
}

TEST_CASE("a retry that succeeds is delivered once") {
  int64_t now = 0;
  Scripted ep{{503, 200}, {}, &now};
  WebhookChannel ch({}, ep.post());
  ch.submit(down_notice("d"), 0);
  for (now = 0; now <= 10'000; now += 100) ch.pump(now);
  CHECK(ep.calls.size() == 2);
  CHECK(ch.stats().delivered == 1);
  CHECK(ep.calls[0].second == ep.calls[1].second);
}

TEST_CASE("a 4xx refusal is not retried") {
  int64_t now = 0;
  Scripted ep{{404}, {}, &now};
  WebhookChannel ch({}, ep.post());
  ch.submit(down_notice("d"), 0);
  for (now = 0; now <= 10'000; now += 100) ch.pump(now);
  CHECK(ep.calls.size() == 1);
  CHECK(ch.stats().failed == 1);
}

TEST_CASE("the rate limit delays notices, it does not drop them") {
  int64_t now = 0;
  Scripted ep{{}, {}, &now};
  WebhookOptions o;
  o.rate_per_minute = 6;  // one per 10 s
  o.burst = 2;
  WebhookChannel ch(o, ep.post());
  for (int i = 0; i < 5; ++i) ch.submit(down_notice("d" + std::to_string(i)), 0);
  ch.pump(0);
  CHECK(ep.calls.size() == 2);  // the burst
  CHECK(ch.next_due_ms() > 9'000);
  for (now = 100; now <= 29'900; now += 100) ch.pump(now);
  CHECK(ep.calls.size() == 4);  // +1 at 10 s, +1 at 20 s
  for (; now <= 60'000; now += 100) ch.pump(now);
  CHECK(ep.calls.size() == 5);
  CHECK(ch.stats().delivered == 5);
  CHECK(ch.stats().rate_limited > 0);
  // In order of submission.
  CHECK(nlohmann::json::parse(ep.calls[4].second)["alert"]["subject"] == "peer/d4");
}

TEST_CASE("the queue is bounded: the oldest notice goes first") {
  int64_t now = 0;
  Scripted ep{{}, {}, &now};
  WebhookOptions o;
  o.max_queue = 3;
  WebhookChannel ch(o, ep.post());
  for (int i = 0; i < 5; ++i) ch.submit(down_notice("d" + std::to_string(i)), 0);
  ch.pump(0);
  CHECK(ch.stats().dropped == 2);
  REQUIRE(ep.calls.size() == 3);
  CHECK(nlohmann::json::parse(ep.calls[0].second)["alert"]["subject"] == "peer/d2");
}

// A one-request-at-a-time HTTP server on 127.0.0.1: answers `status` and keeps
// each request it read.
class LocalHttpServer {
 public:
  explicit LocalHttpServer(int status, int requests) : status_(status) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 4);
    thread_ = std::thread([this, requests] {
      for (int i = 0; i < requests; ++i) {
        timeval tv{10, 0};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string req;
        char buf[4096];
        for (int reads = 0; reads < 100; ++reads) {  // until headers and the whole body
          ssize_t n = read(c, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<std::size_t>(n));
          auto end = req.find("\r\n\r\n");
          auto cl = req.find("Content-Length: ");
          if (end != std::string::npos && cl != std::string::npos &&
              req.size() >= end + 4 + std::stoul(req.substr(cl + 16))) {
            break;
          }
        }
        requests_.push_back(req);
        std::string resp = "HTTP/1.1 " + std::to_string(status_) +
                           " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!write(c, resp.data(), resp.size());
        close(c);
      }
    });
  }
  ~LocalHttpServer() {
    shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  void join() { thread_.join(); }
  std::vector<std::string> requests_;

 private:
  int status_;
  int fd_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_CASE("libcurl posts the JSON to a real HTTP server and reports its status") {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  {
    LocalHttpServer server(204, 1);
    WebhookOptions o;
    o.url = server.url();
    WebhookChannel ch(o, mutuo::health::curl_http_post(5000));
    ch.submit(down_notice("d"), 0);
    ch.pump(0);
    server.join();
    CHECK(ch.stats().delivered == 1);
    REQUIRE(server.requests_.size() == 1);
    const std::string& req = server.requests_[0];
    CHECK(req.rfind("POST /hook HTTP/1.1", 0) == 0);
    CHECK(req.find("Content-Type: application/json") != std::string::npos);
    auto body = nlohmann::json::parse(req.substr(req.find("\r\n\r\n") + 4));
    CHECK(body["alert"]["subject"] == "peer/d");
  }
  {
    LocalHttpServer server(503, 1);
    auto r = mutuo::health::curl_http_post(5000)(server.url(), "{}");
    CHECK(r.status == 503);
  }
  // Nobody listening: no status, a reason.
  auto r = mutuo::health::curl_http_post(2000)("http://127.0.0.1:1/hook", "{}");
  CHECK(r.status == 0);
  CHECK(!r.error.empty());
  curl_global_cleanup();
}
