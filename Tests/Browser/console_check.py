#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol through Allot's web console.

Signs in as an admin and as a member of another tenant, visits every page (a screenshot of each at 1280 x 800),
submits a job through the form and follows it to success, checks what each user's DOM shows and that no
page asks anything of another server. Exits non-zero with the first failure.

Usage: console_check.py --server URL --admin TOKEN --member TOKEN --hidden-job ID --screenshots DIR
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # websocket-client

PAGES = ["overview", "nodes", "jobs", "tenants", "costs", "recommendations", "offers"]


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="allot-chromium-")
        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--remote-debugging-port=0", "--user-data-dir=" + self.profile, "--window-size=1280,800", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        endpoint = None
        deadline = time.time() + 60
        while time.time() < deadline and endpoint is None:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                raise Failure("chromium exited: code %s" % self.process.returncode)
            if "DevTools listening on " in line:
                endpoint = line.split("DevTools listening on ", 1)[1].strip()
        check(endpoint is not None, "chromium did not open its DevTools endpoint")
        port = endpoint.split("//", 1)[1].split("/", 1)[0]
        targets = json.load(urllib.request.urlopen("http://%s/json/list" % port))
        page = next(target for target in targets if target.get("type") == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.requests = []
        for domain in ["Page", "Network", "Runtime"]:
            self.call(domain + ".enable")
        self.size(1280, 800)

    def call(self, method, **params):
        self.next_id += 1
        ident = self.next_id
        self.socket.settimeout(60)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise Failure("%s: %s" % (method, message["error"]))
                return message.get("result", {})
            self.record(message)

    def record(self, message):
        if message.get("method") == "Network.requestWillBeSent":
            self.requests.append(message["params"]["request"]["url"])
        self.events.append(message.get("method"))

    def wait_for(self, event, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            self.socket.settimeout(max(0.1, deadline - time.time()))
            message = json.loads(self.socket.recv())
            self.record(message)
            if message.get("method") == event:
                return message
        raise Failure("no %s within %s s" % (event, seconds))

    def size(self, width, height):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=width < 600)

    def go(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def run(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise Failure("script failed: %s: %s" % (expression[:80], result["exceptionDetails"].get("text")))
        return result["result"].get("value")

    def submit(self, expression):
        """Runs a script that submits a form, and waits for the next page."""
        self.run(expression)
        self.wait_for("Page.loadEventFired")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))

    def close(self):
        try:
            self.socket.close()
        finally:
            self.process.kill()
            self.process.wait()


def sign_in(browser, server, token):
    browser.go(server + "/ui/sign-in")
    browser.submit("document.getElementById('token').value = %s; document.querySelector('main form').submit()" % json.dumps(token))
    check(browser.run("location.pathname") == "/ui/overview", "signing in did not reach the overview: %s" % browser.run("location.href"))
    check(browser.run("document.cookie") == "", "the session cookie is readable by scripts")


def sign_out(browser):
    browser.submit("document.querySelector('header form.who').submit()")
    check(browser.run("location.pathname") == "/ui/sign-in", "signing out did not return to the sign-in page")


def check_page(browser, server, page, who, screenshots):
    browser.go(server + "/ui/" + page)
    title = browser.run("document.title")
    check(title.endswith("· Allot"), "%s: title %r" % (page, title))
    check(browser.run("document.querySelector('h1') !== null"), "%s: no heading" % page)
    unlabeled = browser.run(
        "[...document.querySelectorAll('input:not([type=hidden]), select')].filter("
        "e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.name)")
    check(unlabeled == [], "%s: fields without labels: %s" % (page, unlabeled))
    current = browser.run("document.querySelector('nav a[aria-current=page]')?.textContent || ''")
    check(current != "", "%s: the navigation does not mark the current page" % page)
    browser.screenshot(os.path.join(screenshots, "%s-%s.png" % (who, page)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--admin", required=True)
    parser.add_argument("--member", required=True)
    parser.add_argument("--hidden-job", required=True, help="a job of the admin's tenant the member must not see")
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--chromium", default="chromium")
    arguments = parser.parse_args()
    server = arguments.server.rstrip("/")
    os.makedirs(arguments.screenshots, exist_ok=True)
    started = time.time()
    browser = Browser(arguments.chromium)
    report = {"pages": 0, "screenshots": 0, "phases": {}}

    def phase(name):
        report["phases"][name] = round(time.time() - started, 1)
    try:
        sign_in(browser, server, arguments.admin)
        for page in PAGES:
            check_page(browser, server, page, "admin", arguments.screenshots)
            report["pages"] += 1

        phase("admin pages")
        # Submit a job through the form and follow it to success.
        browser.go(server + "/ui/jobs")
        marker = "browser-%d" % int(time.time())
        browser.submit(
            "const f = document.getElementById('submit-form');"
            "f.querySelector('[name=command]').value = 'echo %s';"
            "f.querySelector('[name=tenant]').value = 'acme';"
            "f.querySelector('[name=cpu]').value = '0.1';"
            "f.querySelector('[name=memory]').value = '64MiB';"
            "f.submit()" % marker)
        path = browser.run("location.pathname")
        check(path.startswith("/ui/jobs/job-"), "the form did not lead to the job's page: %s" % path)
        job = path.rsplit("/", 1)[1]
        deadline = time.time() + 90
        state = ""
        while time.time() < deadline:
            browser.go(server + path)
            state = browser.run("document.getElementById('job-state').textContent")
            if state in ("succeeded", "failed", "cancelled", "lost"):
                break
            time.sleep(1)
        check(state == "succeeded", "job %s ended %r, not succeeded" % (job, state))
        logs = browser.run("document.getElementById('logs').textContent")
        check(marker in logs, "the job's page does not show its output: %r" % logs)
        browser.screenshot(os.path.join(arguments.screenshots, "admin-job.png"))
        browser.go(server + "/ui/jobs")
        listed = browser.run("[...document.querySelectorAll('#jobs tbody th')].map(cell => cell.textContent.trim())")
        check(job in listed, "the new job is not listed: %s" % listed)

        phase("job followed")
        # A phone-width overview fits without sideways scrolling.
        browser.size(390, 844)
        browser.go(server + "/ui/overview")
        width = browser.run("document.documentElement.scrollWidth")
        wide = browser.run(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 392)"
            ".slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))")
        check(width <= 392, "the overview is %s px wide on a 390 px screen: %s" % (width, wide))
        browser.screenshot(os.path.join(arguments.screenshots, "phone-overview.png"))
        browser.size(1280, 800)
        sign_out(browser)

        phase("phone")
        # The member of the other tenant sees its own jobs only.
        sign_in(browser, server, arguments.member)
        phase("member signed in")
        for page in PAGES:
            check_page(browser, server, page, "member", arguments.screenshots)
            report["pages"] += 1
            phase("member " + page)
        browser.go(server + "/ui/jobs")
        listed = browser.run("[...document.querySelectorAll('#jobs tbody th')].map(cell => cell.textContent.trim())")
        check(len(listed) > 0, "the member sees none of its own jobs")
        check(arguments.hidden_job not in listed and job not in listed, "the member sees the other tenant's jobs: %s" % listed)
        browser.go(server + "/ui/jobs/" + arguments.hidden_job)
        check(browser.run("document.querySelector('.error') !== null"), "the other tenant's job page did not refuse")
        sign_out(browser)

        phase("member")
        foreign = [url for url in browser.requests
                   if not (url.startswith(server + "/") or url == server or url.startswith("data:") or url.startswith("about:"))]
        check(foreign == [], "requests outside the server: %s" % foreign[:5])
        report["requests"] = len(browser.requests)
        report["screenshots"] = len([name for name in os.listdir(arguments.screenshots) if name.endswith(".png")])
        report["job"] = job
        print(json.dumps(report))
    except Failure as failure:
        print("FAILED: %s" % failure, file=sys.stderr)
        sys.exit(1)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
