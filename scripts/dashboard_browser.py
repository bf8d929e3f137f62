"""The dashboard's acceptance flow in a real browser: headless Chromium driven by Selenium.

Run by `make test` (Tests/AsgardCLITests/DashboardBrowserTests.swift) against `asgard serve` with
the terraform doubles and the fake Databricks. It relies only on the page contract (routes and
element ids). Every check raises AssertionError with what was seen; the last line printed is a
JSON summary. On a failure it saves failure.png and failure.html in the screenshot directory,
prints the error and exits 1.

usage: dashboard_browser.py BASE_URL LARS_SECRET PRIYA_SECRET TOM_SECRET AGENT_KEY AGENT_KEY_ID SCREENSHOT_DIR
  LARS_SECRET:  lars.berg@example.com (admin, approver of fraud-detection)
  PRIYA_SECRET: priya.natarajan@example.com (approver of fraud-detection, and the requester of
                the pending approval for Resource/fraud-warehouse)
  TOM_SECRET:   tom.okafor@example.com (owner of marketing-copy only)
  AGENT_KEY:    the secret of a key of fraud-detection allowed databricks/llama-3-3-70b
  AGENT_KEY_ID: that key's id
  SCREENSHOT_DIR: where the screenshots go (created when missing)
"""

import json
import os
import re
import sys
import time
import traceback
from urllib.parse import urlparse

import openai
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

TIMEOUT = 20
MODEL = "databricks/llama-3-3-70b"
LARS = "lars.berg@example.com"
WAREHOUSE = "Resource/fraud-warehouse"
RFC3339_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def start_browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class Dashboard:
    """The browser on the dashboard: navigation, waits, forms and screenshots."""

    def __init__(self, driver, base, shots):
        self.driver = driver
        self.base = base.rstrip("/")
        self.shots = shots
        self.taken = []

    # Reading the page.

    def path(self):
        return urlparse(self.driver.current_url).path

    def snippet(self, limit=1500):
        """The page's <main> (or the start of its source), for failure messages."""
        source = self.driver.page_source
        start = source.find('<main')
        text = source[start:] if start >= 0 else source
        text = re.sub(r"\s+", " ", text)
        return text[:limit] + (" ..." if len(text) > limit else "")

    def seen(self):
        return f"at {self.driver.current_url}; page: {self.snippet()}"

    def fail(self, message):
        raise AssertionError(f"{message} ({self.seen()})")

    def expect(self, condition, message):
        if not condition:
            self.fail(message)

    def wait(self, condition, what):
        """Waits up to TIMEOUT seconds for `condition`; its value, or AssertionError naming `what`."""
        try:
            return WebDriverWait(self.driver, TIMEOUT).until(condition)
        except TimeoutException:
            self.fail(f"waited {TIMEOUT} s for {what}")

    def element(self, css, what=None):
        return self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, css)), what or f"`{css}`")

    def visible(self, css, what=None):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), what or f"`{css}` to be visible")

    def elements(self, css, within=None):
        return (within or self.driver).find_elements(By.CSS_SELECTOR, css)

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    # Navigating.

    def loaded(self):
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete", "the page to load")

    def open(self, path):
        self.driver.get(self.base + path)
        self.loaded()

    def on(self, path, after):
        self.wait(lambda d: urlparse(d.current_url).path == path, f"to be on {path} {after}")

    def submit(self, button):
        """Clicks a form's button and waits for the page the post answered with: a new document
        (the marker set on this one is gone), fully loaded. While the documents change, the
        driver may fail any command (not only with a stale element): those failures are waited out."""
        question = button.find_element(By.XPATH, "./ancestor::form").get_attribute("data-confirm")
        self.driver.execute_script("window.__asgardOldPage = true;")
        button.click()
        if question:
            # The form asks first (dashboard.js): the dialog must say what happens, then it posts.
            try:
                alert = WebDriverWait(self.driver, TIMEOUT).until(EC.alert_is_present())
            except TimeoutException:
                self.fail(f"no confirm dialog appeared for a form with data-confirm {question!r}")
            asked = alert.text
            alert.accept()
            self.expect(asked == question, f"the confirm dialog asked {asked!r}, not {question!r}")
        try:
            WebDriverWait(self.driver, TIMEOUT, ignored_exceptions=(WebDriverException,)).until(
                lambda d: d.execute_script("return !window.__asgardOldPage && document.readyState === 'complete';"))
        except TimeoutException:
            self.fail(f"waited {TIMEOUT} s for the form's answer to replace the page")

    def notice(self, after):
        """The success message `p#notice`, failing with `p#error`'s text if there is one instead."""
        errors = self.elements("#error")
        if errors:
            self.fail(f"{after}: refused with #error {errors[0].text!r}")
        return self.element("#notice", f"#notice after {after}")

    def shot(self, name):
        """Checks the page is usable without sight or a mouse, then saves its screenshot."""
        self.accessible(name)
        path = os.path.join(self.shots, name)
        check(self.driver.save_screenshot(path), f"could not save screenshot {path}")
        self.taken.append(name)

    # Accessibility, checked on every page a screenshot is taken of.

    ACCESSIBILITY = """
        const problems = [];
        if (!document.documentElement.lang) problems.push("<html> has no lang");
        if (document.querySelectorAll("main").length !== 1) problems.push("not exactly one <main>");
        if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one <h1>");
        for (const control of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
          if (!control.labels || control.labels.length === 0) problems.push("no label: " + control.outerHTML.slice(0, 120));
        }
        for (const button of document.querySelectorAll("button")) {
          if (!button.textContent.trim()) problems.push("a button without text: " + button.outerHTML.slice(0, 120));
        }
        for (const table of document.querySelectorAll("table")) {
          if (!table.querySelector("caption")) problems.push("a table without a caption");
        }
        for (const chart of document.querySelectorAll("svg")) {
          if (chart.getAttribute("role") !== "img" || !chart.querySelector("title")) problems.push("an svg without role=img and a title");
        }
        // Contrast (WCAG 2): every visible text against the first opaque background behind it,
        // at least 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold).
        const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
        const luminance = ([r, g, b]) => {
          const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
          return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
        };
        const background = (element) => {
          for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
            const color = rgb(getComputedStyle(node).backgroundColor);
            if (color.length >= 3 && (color.length < 4 || color[3] > 0.9)) return color.slice(0, 3);
          }
          return [255, 255, 255];
        };
        for (const element of document.querySelectorAll("body *:not(svg):not(svg *)")) {
          const own = Array.from(element.childNodes).some((node) => node.nodeType === 3 && node.textContent.trim());
          if (!own || !element.getClientRects().length) continue;
          const style = getComputedStyle(element);
          if (style.visibility === "hidden") continue;
          const [a, b] = [luminance(rgb(style.color)), luminance(background(element))];
          const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
          const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
          const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
          if (ratio < needed) problems.push("contrast " + ratio.toFixed(2) + " < " + needed + ": " + element.outerHTML.slice(0, 100));
        }
        return problems;
    """

    def accessible(self, name):
        problems = self.driver.execute_script(self.ACCESSIBILITY)
        self.expect(not problems, f"{name}: {problems}")
        # The keyboard: the first Tab reaches the skip link, which leads to the content.
        # Focus starts at the top of the document (as on a fresh load), whatever was focused before.
        self.driver.execute_script(
            "window.scrollTo(0, 0); document.body.setAttribute('tabindex', '-1'); document.body.focus();"
            " document.body.removeAttribute('tabindex');")
        ActionChains(self.driver).send_keys(Keys.TAB).perform()
        focused = self.driver.execute_script("return document.activeElement.className + ' ' + document.activeElement.getAttribute('href');")
        self.expect(focused == "skip #main", f"{name}: the first Tab focused {focused!r}, not the skip link")
        self.driver.execute_script("document.activeElement.blur();")  # the screenshot shows the page, not the focus ring

    def on_a_phone(self, name):
        """The page at a phone's width (390 CSS pixels): nothing wider than the screen."""
        size = self.driver.get_window_size()
        self.driver.set_window_size(390, 844)
        try:
            self.loaded()
            overflow = self.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth;")
            self.expect(overflow <= 0, f"{name}: the page is {overflow} px wider than a phone's screen")
            self.shot(name)
        finally:
            self.driver.set_window_size(size["width"], size["height"])

    # Sessions.

    def login(self, credential, who):
        self.open("/login")
        field = self.element("form#login input#credential[name=credential][type=password]", "the credential field")
        field.clear()
        field.send_keys(credential)
        self.submit(self.element("#login-submit"))
        self.expect(not self.elements("#error"), f"logging in as {who} was refused: {self.error_text()!r}")
        self.on("/", f"after logging in as {who}")
        who_text = self.element("#who").text
        self.expect(who in who_text, f"#who reads {who_text!r}, expected {who}")

    def logout(self):
        self.submit(self.element("form#logout button", "the Log out button"))
        self.on("/login", "after logging out")

    def error_text(self):
        errors = self.elements("#error")
        return errors[0].text if errors else None

    # The overview's refresh.

    def last_rollup(self):
        element = self.element("#last-rollup")
        if element.tag_name.lower() == "time":
            value = element.get_attribute("datetime") or ""
            self.expect(value, "time#last-rollup has no datetime attribute")
            return value
        self.expect(element.text.strip().lower() == "never", f"span#last-rollup reads {element.text!r}, expected 'never'")
        return "never"


def chat(base, agent):
    client = openai.OpenAI(base_url=base.rstrip("/") + "/v1", api_key=agent, max_retries=0, timeout=20)
    return client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hello from the dashboard browser test"}])


def chat_succeeds(base, agent, within=0.0):
    """One chat call that must succeed; retried on a 403 for `within` seconds (a switch just released)."""
    deadline = time.monotonic() + within
    while True:
        try:
            reply = chat(base, agent)
            check(reply.choices and reply.choices[0].message.content, f"the chat answered without content: {reply}")
            return reply
        except openai.PermissionDeniedError as error:
            if time.monotonic() >= deadline:
                raise AssertionError(f"the chat is still refused after {within} s: {error.status_code} {error.body}")
            time.sleep(0.25)


def chat_refused(base, agent, within=5.0):
    """A chat call refused with 403 (PermissionDeniedError), polling `within` seconds for it."""
    deadline = time.monotonic() + within
    while True:
        try:
            chat(base, agent)
        except openai.PermissionDeniedError as error:
            check(error.status_code == 403, f"PermissionDeniedError with status {error.status_code}")
            return error
        check(time.monotonic() < deadline, f"the chat still succeeds {within} s after the kill switch was engaged")
        time.sleep(0.25)


# The steps, in order.

def anonymous_is_sent_to_login(ui):
    ui.open("/")
    ui.on("/login", "after GET / without a session")
    ui.element("form#login")
    ui.shot("login.png")


def wrong_credential_is_refused(ui):
    ui.open("/login")
    ui.element("#credential").send_keys("asgp_not_anyones_credential_0000")
    ui.submit(ui.element("#login-submit"))
    ui.expect(ui.path() == "/login", f"a wrong credential ended on {ui.path()}, expected /login")
    ui.visible("#error", "#error after a wrong credential")


def overview_shows_projects(ui):
    section = ui.element('section.project[data-project="fraud-detection"]', "the fraud-detection section on the overview")
    ui.expect(ui.elements("svg.chart", section), "the fraud-detection section has no svg.chart")
    ui.element("p.list-prices", "the note p.list-prices")


def refresh_costs(ui):
    """Refresh costs: the notice, and #last-rollup moves to a new rollup time."""
    before = ui.last_rollup()
    ui.submit(ui.element("form#refresh #refresh-button", "the Refresh costs button"))
    ui.on("/", "after Refresh costs")
    ui.notice("Refresh costs")
    after = ui.last_rollup()
    ui.expect(after != "never", "#last-rollup still reads never after a rollup")
    ui.expect(RFC3339_MILLIS.match(after), f"#last-rollup datetime {after!r} is not RFC 3339 with milliseconds")
    ui.expect(after != before, f"#last-rollup did not change: {before!r} before and after Refresh costs")
    return before, after


def overview_shows_measurements(ui):
    """After a rollup: measured gateway spend and the estimated volume, in the spend tables."""
    readings = [cell.text.strip() for cell in ui.elements("td.measurement")]
    ui.expect("measured" in readings, f"no td.measurement reads 'measured'; readings: {readings}")
    ui.expect("estimate" in readings, f"no td.measurement reads 'estimate'; readings: {readings}")
    section = ui.element('section.project[data-project="fraud-detection"]')
    ui.expect(ui.elements("table.spend tr[data-measurement]", section), "fraud-detection's table.spend has no rows")


def project_pages(ui, agent, key_id):
    ui.open("/projects/fraud-detection")
    keys = ui.element("section#keys", "section#keys on /projects/fraud-detection")
    ui.expect(ui.elements(f'tr[data-key="{key_id}"]', keys), f"section#keys has no row for key {key_id}")
    ui.expect(agent not in ui.driver.page_source, "the project page shows the agent key's secret")
    ui.shot("project.png")
    ui.open("/projects/marketing-copy")
    ui.element("section#keys", "section#keys on /projects/marketing-copy (Lars is an admin)")


def logged_out_stays_out(ui):
    ui.logout()
    ui.open("/")
    ui.on("/login", "after GET / once logged out")


def pending_warehouse(ui):
    return ui.element(f'article.approval[data-ref="{WAREHOUSE}"]', f"the pending approval for {WAREHOUSE}")


def requester_cannot_approve(ui):
    """Priya asked for the warehouse: approving it herself is refused by Cedar, and it stays pending."""
    ui.open("/approvals")
    article = pending_warehouse(ui)
    approval = article.get_attribute("data-approval")
    ui.expect(approval, "the approval's article has no data-approval id")
    ui.submit(article.find_element(By.CSS_SELECTOR, "form.approve button"))
    error = ui.visible("#error", "#error after the requester approved").text
    ui.expect("Cedar denied" in error, f"#error reads {error!r}, expected it to contain 'Cedar denied'")
    ui.shot("approvals-refused.png")
    ui.open("/approvals")
    still = pending_warehouse(ui)
    ui.expect(still.get_attribute("data-approval") == approval, "the pending approval changed id after a refused approval")
    return approval


def other_owner_sees_only_their_project(ui):
    ui.element('section.project[data-project="marketing-copy"]', "Tom's marketing-copy section on the overview")
    ui.expect(not ui.elements('section.project[data-project="fraud-detection"]'), "Tom sees the fraud-detection section")
    ui.open("/projects/fraud-detection")
    text = ui.text().lower()
    ui.expect(not ui.elements("section#keys"), "Tom sees fraud-detection's keys")
    ui.expect("not found" in text or "404" in text, "Tom's /projects/fraud-detection is not a 404 page")


def approver_approves(ui, approval):
    ui.open("/approvals")
    article = pending_warehouse(ui)
    ui.expect(article.get_attribute("data-approval") == approval,
              f"the pending approval is {article.get_attribute('data-approval')}, expected {approval}")
    ui.submit(article.find_element(By.CSS_SELECTOR, "form.approve button"))
    ui.notice("approving as Lars")
    row = ui.element(f'table#decided tr[data-approval="{approval}"]', f"the decided row of approval {approval}")

    def cell(css):
        return row.find_element(By.CSS_SELECTOR, css).text.strip()

    # The reconciler may already have applied the approved plan: "applied" is approved and spent.
    ui.expect(cell(".status") in ("approved", "applied"), f".status reads {cell('.status')!r}, expected 'approved'")
    ui.expect(LARS in cell(".decided-by"), f".decided-by reads {cell('.decided-by')!r}, expected {LARS}")
    ui.expect(cell(".plan-digest"), "the .plan-digest cell is empty")
    ui.shot("approvals.png")


def select_scope(ui, scope):
    """Selects the option whose value (or, without a value attribute, text) is `scope`."""
    select = Select(ui.element("form#engage select#scope[name=scope]", "the scope select"))
    values = [option.get_attribute("value") for option in select.options]
    ui.expect(scope in values, f"the scope select has no option {scope!r}; its values are {values}")
    select.select_by_index(values.index(scope))


def fill_engage(ui, scope, target, reason):
    select_scope(ui, scope)
    for css, value in (("form#engage input#target[name=id]", target), ("form#engage input#reason[name=reason]", reason)):
        field = ui.element(css)
        field.clear()
        field.send_keys(value)


def kill_switch_round_trip(ui, base, agent):
    ui.open("/kill")
    fill_engage(ui, "project", "fraud-detection", "browser test: runaway agent")
    ui.submit(ui.element("#engage-button"))
    ui.notice("engaging the project kill switch")
    row = ui.element('table#engaged tr[data-target="project:fraud-detection"]', "the engaged row project:fraud-detection")
    by = row.find_element(By.CSS_SELECTOR, ".by").text
    ui.expect("lars" in by.lower(), f"the engaged row's .by reads {by!r}, expected Lars")
    ui.shot("kill.png")
    chat_refused(base, agent, within=5.0)

    row = ui.element('table#engaged tr[data-target="project:fraud-detection"]')
    ui.submit(row.find_element(By.CSS_SELECTOR, "form.release button"))
    ui.notice("releasing the project kill switch")
    ui.open("/kill")
    ui.expect(not ui.elements('tr[data-target="project:fraud-detection"]'), "the released switch is still listed")
    chat_succeeds(base, agent, within=5.0)


def audit_shows_the_kill(ui):
    ui.open("/audit")
    field = ui.element("form#filters input[name=action]", "the action filter")
    field.clear()
    field.send_keys("kill.engage")
    ui.submit(ui.element("form#filters button", "the Filter button"))
    table = ui.element("table#audit", "table#audit after filtering")
    actions = [cell.text.strip() for cell in ui.elements("tr[data-seq] .action", table)]
    ui.expect("kill.engage" in actions, f"no audit row with action kill.engage; actions: {actions}")
    ui.expect(all(a == "kill.engage" for a in actions), f"the action filter let other actions through: {actions}")
    status = ui.element("#chain-status").text.strip()
    ui.expect(status.lower().startswith("verified"), f"#chain-status reads {status!r}, expected it to start with 'verified'")
    ui.shot("audit.png")


def post_without_csrf_is_refused(ui):
    ui.open("/kill")
    ui.element("form#engage")
    removed = ui.driver.execute_script(
        "const inputs = document.querySelectorAll('form#engage input[name=csrf]');"
        "inputs.forEach(input => input.remove()); return inputs.length;")
    ui.expect(removed >= 1, "form#engage has no hidden csrf input to remove")
    fill_engage(ui, "project", "marketing-copy", "x")
    ui.submit(ui.element("#engage-button"))
    ui.expect(ui.elements("#error") or "csrf" in ui.text().lower(), "a post without its CSRF token was not refused")
    ui.open("/kill")
    ui.on("/kill", "after the refused post (the session must still stand)")
    ui.expect(not ui.elements('tr[data-target="project:marketing-copy"]'), "the post without a CSRF token engaged a switch")


def flow(ui, base, lars, priya, tom, agent, key_id):
    anonymous_is_sent_to_login(ui)
    wrong_credential_is_refused(ui)
    chat_succeeds(base, agent)  # measured gateway spend, before the rollups

    ui.login(lars, LARS)
    overview_shows_projects(ui)
    before, first = refresh_costs(ui)
    time.sleep(1.1)
    _, second = refresh_costs(ui)
    check(second != first, f"two rollups show the same time {first}")
    # The figures come from a rollup: read them once one has run.
    overview_shows_measurements(ui)
    ui.shot("overview.png")
    ui.on_a_phone("overview-phone.png")
    project_pages(ui, agent, key_id)
    logged_out_stays_out(ui)

    ui.login(priya, "priya.natarajan@example.com")
    approval = requester_cannot_approve(ui)
    ui.logout()

    ui.login(tom, "tom.okafor@example.com")
    other_owner_sees_only_their_project(ui)
    ui.open("/")
    ui.logout()

    ui.login(lars, LARS)
    approver_approves(ui, approval)
    kill_switch_round_trip(ui, base, agent)
    audit_shows_the_kill(ui)
    post_without_csrf_is_refused(ui)
    ui.logout()
    return {"rollups": [before, first, second], "approval": approval}


def redact(text, secrets):
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "<redacted>")
    return text


def main(argv):
    if len(argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    base, lars, priya, tom, agent, key_id, shots = argv[1:8]
    secrets = (lars, priya, tom, agent)
    os.makedirs(shots, exist_ok=True)
    driver = start_browser()
    ui = Dashboard(driver, base, shots)
    try:
        details = flow(ui, base, lars, priya, tom, agent, key_id)
        print(json.dumps({"ok": True, "screenshots": ui.taken, **details}, sort_keys=True))
        return 0
    except Exception as error:  # noqa: BLE001 - any failure: keep the evidence, then report it
        try:
            driver.save_screenshot(os.path.join(shots, "failure.png"))
            with open(os.path.join(shots, "failure.html"), "w", encoding="utf-8") as page:
                page.write(redact(driver.page_source, secrets))
        except Exception as evidence:  # noqa: BLE001
            print(f"(could not save the failure's evidence: {evidence})")
        message = error.msg if isinstance(error, WebDriverException) else str(error)  # without chromedriver's native stack
        where = "".join(traceback.format_tb(error.__traceback__)[-3:])
        print(redact(f"FAIL {type(error).__name__}: {message}\n{where}", secrets))
        print(redact(json.dumps({"ok": False, "screenshots": ui.taken, "error": message}), secrets))
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
