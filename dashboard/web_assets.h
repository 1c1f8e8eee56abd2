// The web UI, embedded at build time from dashboard/web/ (see CMakeLists.txt), so
// the binary serves it without any files at run time.
#pragma once

#include <string_view>

namespace mutuo::dashboard {

// dashboard/web/index.html, verbatim.
std::string_view index_html();

}  // namespace mutuo::dashboard
