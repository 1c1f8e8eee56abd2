#include "agent/probes/curl_library.h"

#include <dlfcn.h>

#include <mutex>

namespace mutuo::agent {

namespace {

struct Loaded {
  CurlLibrary lib{};
  std::string error;
  bool ok = false;
};

template <class F>
bool bind(void* handle, const char* name, F* fn, std::string* error) {
  void* sym = dlsym(handle, name);
  if (sym == nullptr) {
    *error = std::string("libcurl lacks ") + name;
    return false;
  }
  *fn = reinterpret_cast<F>(sym);
  return true;
}

Loaded load() {
  Loaded l;
  void* h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* e = dlerror();
    l.error = std::string("cannot load libcurl.so.4: ") + (e ? e : "unknown error");
    return l;
  }
  CurlLibrary& c = l.lib;
  l.ok = bind(h, "curl_global_init", &c.global_init, &l.error) &&
         bind(h, "curl_easy_init", &c.easy_init, &l.error) &&
         bind(h, "curl_easy_setopt", &c.easy_setopt, &l.error) &&
         bind(h, "curl_easy_getinfo", &c.easy_getinfo, &l.error) &&
         bind(h, "curl_easy_cleanup", &c.easy_cleanup, &l.error) &&
         bind(h, "curl_easy_strerror", &c.easy_strerror, &l.error) &&
         bind(h, "curl_multi_init", &c.multi_init, &l.error) &&
         bind(h, "curl_multi_add_handle", &c.multi_add_handle, &l.error) &&
         bind(h, "curl_multi_remove_handle", &c.multi_remove_handle, &l.error) &&
         bind(h, "curl_multi_perform", &c.multi_perform, &l.error) &&
         bind(h, "curl_multi_poll", &c.multi_poll, &l.error) &&
         bind(h, "curl_multi_info_read", &c.multi_info_read, &l.error) &&
         bind(h, "curl_multi_cleanup", &c.multi_cleanup, &l.error);
  if (l.ok && c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    l.ok = false;
    l.error = "curl_global_init failed";
  }
  return l;
}

}  // namespace

const CurlLibrary* curl_library(std::string* why) {
  static std::once_flag once;
  static Loaded loaded;  // written once under call_once, read-only afterwards
  std::call_once(once, [] { loaded = load(); });
  if (!loaded.ok) {
    if (why != nullptr) *why = loaded.error;
    return nullptr;
  }
  return &loaded.lib;
}

}  // namespace mutuo::agent
