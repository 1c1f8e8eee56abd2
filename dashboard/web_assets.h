// The web UI, embedded at build time from dashboard/web/ (see CMakeLists.txt), so
// the binary serves it without any files at run time.
#pragma once

#include <string>
#include <string_view>

namespace mutuo::dashboard {

// dashboard/web/index.html, verbatim.
std::string_view index_html();

// dashboard/web/status.html (the public status page), verbatim.
std::string_view status_html();

// uPlot from the npm package pinned in dashboard/web/package-lock.json (empty
// when the build had no npm).
std::string_view uplot_js();
std::string_view uplot_css();

}  // namespace mutuo::dashboard
