#include "common/process.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace mutuo {

namespace {
sigset_t shutdown_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}
}  // namespace

void cap_malloc_arenas(int per_core) {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  mallopt(M_ARENA_MAX, std::max(2, per_core * cores));
#else
  (void)per_core;
#endif
}

void keep_large_allocations_mapped() {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) return;
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);  // glibc's initial value, now fixed
#endif
}

void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

MallocStats malloc_stats() {
  MallocStats stats;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  stats.in_use = mi.uordblks + mi.hblkhd;  // arena chunks in use + mmapped chunks
  stats.free_held = mi.fordblks;
#endif
  return stats;
}

void block_shutdown_signals() {
  sigset_t set = shutdown_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

std::string wait_for_shutdown_signal() {
  sigset_t set = shutdown_set();
  int sig = 0;
  sigwait(&set, &sig);
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

Result<std::string> read_secret(const std::string& file, const char* env_var) {
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return Error{"cannot read " + file};
    std::stringstream ss;
    ss << in.rdbuf();
    std::string secret = trim(ss.str());
    if (secret.empty()) return Error{file + " is empty"};
    return secret;
  }
  const char* v = std::getenv(env_var);
  if (v == nullptr || trim(v).empty()) {
    return Error{std::string("no token: pass --token-file or set ") + env_var};
  }
  std::string secret = trim(v);
  forget_env_secret(env_var);
  return secret;
}

void forget_env_secret(const char* env_var) {
  if (char* v = std::getenv(env_var)) explicit_bzero(v, std::strlen(v));
  ::unsetenv(env_var);
}

}  // namespace mutuo
