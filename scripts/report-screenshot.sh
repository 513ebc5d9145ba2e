#!/usr/bin/env bash
# A screenshot of a run's HTML report, for people (reviews, tickets, release notes):
#
#   bash scripts/report-screenshot.sh out/marketing_research/_reports/run_date=2026-11-26.html [OUT.png]
#
# Renders the page in headless Chromium (Debian's `chromium` package), offline, 1200 px wide
# and as tall as the page, however long. tests/report.rs makes the same call to check that the
# charts render and that the page's end is on the picture.
#
# Chromium's `--screenshot` only takes the window (a fixed `--window-size` cuts a long page),
# so Python (standard library only) drives Chromium through its DevTools protocol on a pipe
# (`--remote-debugging-pipe`, no port): load the page at 1200 px, ask the layout for the page's
# height (Page.getLayoutMetrics), make the viewport that tall, and capture it. Nothing is
# injected into the page, so it works whatever the page's scripts or security policy.
set -euo pipefail
page="$(realpath "$1")"
png="${2:-${page%.html}.png}"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
python3 - "$page" "$png" "$profile" <<'PYTHON'
import base64, fcntl, json, math, os, signal, subprocess, sys, urllib.parse

page, png, profile = sys.argv[1:4]
WIDTH = 1200
# A Chromium that hangs fails the script (and is killed below) instead of blocking it.
signal.signal(signal.SIGALRM, lambda *_: sys.exit("report-screenshot: no answer in 120 s"))
signal.alarm(120)

# Chromium reads commands from its fd 3 and writes replies to its fd 4, each a JSON text
# ended by a NUL byte. The child's ends are first moved above 10 (close-on-exec), so that
# putting them on 3 and 4 never overwrites one with the other.
to_chromium_r, to_chromium_w = os.pipe()
from_chromium_r, from_chromium_w = os.pipe()
child_r = fcntl.fcntl(to_chromium_r, fcntl.F_DUPFD_CLOEXEC, 10)
child_w = fcntl.fcntl(from_chromium_w, fcntl.F_DUPFD_CLOEXEC, 10)
for fd in (to_chromium_r, from_chromium_w):
    os.close(fd)


def child_fds():
    os.dup2(child_r, 3)
    os.dup2(child_w, 4)


chromium = subprocess.Popen(
    [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
        f"--window-size={WIDTH},800", "--remote-debugging-pipe", "about:blank",
    ],
    close_fds=False,
    preexec_fn=child_fds,
    stdin=subprocess.DEVNULL,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
os.close(child_r)
os.close(child_w)
commands = os.fdopen(to_chromium_w, "wb")
next_id = 0
events = []


pending = bytearray()


def receive():
    while b"\0" not in pending:
        chunk = os.read(from_chromium_r, 1 << 16)
        if not chunk:
            sys.exit("report-screenshot: Chromium stopped before the screenshot was taken")
        pending.extend(chunk)
    end = pending.index(b"\0")
    message = json.loads(pending[:end])
    del pending[: end + 1]
    return message


def call(method, session=None, **params):
    global next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params}
    if session:
        msg["sessionId"] = session
    commands.write(json.dumps(msg).encode() + b"\0")
    commands.flush()
    while True:
        m = receive()
        if m.get("id") == next_id:
            if "error" in m:
                sys.exit(f"report-screenshot: {method}: {m['error']}")
            return m["result"]
        events.append(m)


def wait_for(event, session):
    while True:
        m = events.pop(0) if events else receive()
        if m.get("method") == event and m.get("sessionId") == session:
            return m


try:
    target = call("Target.createTarget", url="about:blank")["targetId"]
    s = call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    call("Page.enable", session=s)

    def viewport(height):
        call("Emulation.setDeviceMetricsOverride", session=s, width=WIDTH, height=height,
             deviceScaleFactor=1, mobile=False)

    viewport(800)
    loaded = call("Page.navigate", session=s, url="file://" + urllib.parse.quote(page))
    if loaded.get("errorText"):
        sys.exit(f"report-screenshot: cannot open {page}: {loaded['errorText']}")
    wait_for("Page.loadEventFired", s)
    # The page's full height at this width; measured again at that height, in case the
    # layout depends on the viewport's (e.g. 100vh), until it settles.
    height = 0
    for _ in range(5):
        metrics = call("Page.getLayoutMetrics", session=s)
        content = metrics.get("cssContentSize") or metrics["contentSize"]
        measured = max(1, math.ceil(content["height"]))
        if measured == height:
            break
        height = measured
        viewport(height)
    shot = call("Page.captureScreenshot", session=s, format="png", captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1})
    with open(png, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    # Closing: the reply may never come (the pipe closes first), so it is not waited for.
    commands.write(json.dumps({"id": next_id + 1, "method": "Browser.close"}).encode() + b"\0")
    commands.flush()
    chromium.wait(timeout=10)
finally:
    if chromium.poll() is None:
        chromium.kill()
        chromium.wait()
PYTHON
echo "$png"
