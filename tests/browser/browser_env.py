"""What every browser test needs before it starts: Node.js, playwright-core
installed by `npm ci` in tests/browser, and Debian's Chromium."""

import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77  # ctest SKIP_RETURN_CODE


def find_node():
    """The node executable, or None (after saying why) when a browser test cannot run."""
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")) \
            or not os.path.exists("/usr/bin/chromium"):
        print("SKIP: needs node, tests/browser/node_modules (npm ci) and /usr/bin/chromium")
        return None
    return node
