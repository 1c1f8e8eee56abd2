// libcurl, loaded on first use (dlopen) rather than linked: libcurl pulls in
// some 28 shared libraries (GnuTLS, Kerberos, LDAP, SSH, ...) worth about 4 MB
// of resident memory, which an agent that runs no http check (the common case
// for a peer-only agent on a small box) should not pay.
#pragma once

#include <curl/curl.h>

#include <string>

namespace mutuo::agent {

// The libcurl functions the http probe uses.
struct CurlLibrary {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  CURLM* (*multi_init)();
  CURLMcode (*multi_add_handle)(CURLM*, CURL*);
  CURLMcode (*multi_remove_handle)(CURLM*, CURL*);
  CURLMcode (*multi_perform)(CURLM*, int*);
  CURLMcode (*multi_poll)(CURLM*, curl_waitfd[], unsigned int, int, int*);
  CURLMsg* (*multi_info_read)(CURLM*, int*);
  CURLMcode (*multi_cleanup)(CURLM*);
};

// Loads libcurl.so.4 and runs curl_global_init once, on the first call from any
// thread. nullptr when the library or a symbol is missing; `*why` then says why.
// Thread-safe; the library stays loaded for the life of the process.
const CurlLibrary* curl_library(std::string* why);

}  // namespace mutuo::agent
