"""Driving Airflow's UI in headless Chromium (Debian's ``chromium`` and ``chromium-driver``) with selenium.

``new_driver`` starts a browser with a fresh profile; ``AirflowUI`` knows the few gestures the
tests need (log in, open a page, click what tooltips cover, read dialogs and toasts). Kept free of
pytest so that other browser tests (a campaign console page, say) reuse it as it is.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

T = TypeVar("T")

# Headless, no sandbox (CI runs as root), and nothing the browser would fetch on its own (updates,
# sync, QUIC probes): the tests' only traffic is to the stack on loopback.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1000")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"


def browser_binaries() -> tuple[str, str] | None:
    """(chromium, chromedriver) from PATH, or None when either is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


def new_driver(user_data_dir: Path, *, timezone: str = "UTC") -> WebDriver:
    """A headless Chromium with a fresh profile in ``user_data_dir``, its clock in ``timezone``."""
    binaries = browser_binaries()
    if binaries is None:
        raise RuntimeError("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    chromium, chromedriver = binaries
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The browser's own time zone comes from TZ: UTC, like a server or a CI machine.
    service = Service(chromedriver, env={**os.environ, "TZ": timezone})
    return webdriver.Chrome(options=options, service=service)


def console_frame(driver: WebDriver, airflow: str, page: str = "") -> str:
    """Open the campaign console inside the Airflow UI at ``airflow`` and switch into its frame; returns
    the frame's first address."""
    driver.switch_to.default_content()
    driver.get(f"{airflow}/plugin/vbot-console" + (f"/vbot-console/{page}" if page else ""))
    frame = WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.CSS_SELECTOR, "iframe")))
    src = frame.get_attribute("src")
    driver.switch_to.frame(frame)
    WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.CSS_SELECTOR, "header.top nav")))
    return src


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll ``predicate`` (stale elements count as "not yet") until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException) as err:
            last_error = err
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                 + (f" (last error: {last_error.__class__.__name__})" if last_error else ""))
        time.sleep(interval)


class AirflowUI:
    """The gestures of a person in Airflow 3's UI, for tests."""

    def __init__(self, driver: WebDriver, base_url: str, timeout: float = 30) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    # -- pages --------------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> None:
        """The simple auth manager's login page, then the UI's home."""
        self.driver.get(f"{self.base_url}/")
        user = self.wait_for(lambda: self.driver.find_element(By.NAME, "username"), "the login form")
        user.send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait_for(lambda: "/auth/login" not in self.driver.current_url, "the login to finish")

    def forget_preferences(self) -> None:
        """Empty the UI's local storage (time zone, table settings, …), as in a browser never used here."""
        self.driver.get(f"{self.base_url}/api/v2/version")  # same origin, no UI script to store anything
        self.driver.execute_script("window.localStorage.clear();")

    def open(self, path: str, *, expect: str | None = None) -> None:
        """Go to ``path`` of the UI; with ``expect``, wait until that text shows."""
        self.driver.get(f"{self.base_url}/{path.lstrip('/')}")
        if expect:
            self.wait_text(expect)

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def wait_for(self, predicate: Callable[[], T], what: str, timeout: float | None = None) -> T:
        return wait_until(predicate, timeout or self.timeout, what)

    def wait_text(self, text: str, within: Callable[[], WebElement] | None = None,
                  timeout: float | None = None) -> str:
        """Wait until ``text`` shows (in ``within()`` if given); returns the text it showed in."""
        def shown() -> str | None:
            where = within() if within else self.driver.find_element(By.TAG_NAME, "body")
            return where.text if text in where.text else None

        return self.wait_for(shown, f"{text!r} to show", timeout)

    # -- elements -------------------------------------------------------------------------------------

    def click(self, element: WebElement) -> None:
        """A person's click; where a tooltip covers the element, its click event instead."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        try:
            element.click()  # real pointer events: some widgets (accordions) answer to nothing else
        except ElementClickInterceptedException:
            self.driver.execute_script("arguments[0].click();", element)

    def button(self, label: str, within: WebElement | None = None) -> WebElement:
        """A visible button by its text or its aria-label."""
        where = within or self.driver
        xpath = (f".//button[normalize-space()={_xpath_text(label)} or @aria-label={_xpath_text(label)}]")
        return self.wait_for(lambda: next((b for b in where.find_elements(By.XPATH, xpath) if b.is_displayed()),
                                          None), f"the button {label!r}")

    def dialog(self) -> WebElement:
        """The dialog on top (Airflow's trigger form, a connection form)."""
        return self.wait_for(lambda: next(reversed([d for d in self.driver.find_elements(
            By.CSS_SELECTOR, "[role=dialog]") if d.text.strip()]), None), "a dialog")

    def field(self, name: str, within: WebElement | None = None) -> WebElement:
        """A form field by its name attribute (Airflow names a param's or an extra's input element_<name>)."""
        where = within or self.driver
        return self.wait_for(lambda: where.find_element(By.NAME, name), f"the field {name!r}")

    def type_into(self, element: WebElement, text: str) -> None:
        """Replace what a (React-controlled) input holds, keystroke by keystroke like a person."""
        element.click()
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(Keys.BACKSPACE)
        element.send_keys(text)

    def toasts(self) -> list[str]:
        """The texts of the notifications on screen."""
        return [t.text for t in self.driver.find_elements(By.CSS_SELECTOR, "[data-scope=toast][data-part=root]")
                if t.text.strip()]

    def wait_toast(self, text: str, timeout: float | None = None) -> str:
        return self.wait_for(lambda: next((t for t in self.toasts() if text in t), None),
                             f"a notification with {text!r}", timeout)

    def local_storage(self, key: str) -> str | None:
        return self.driver.execute_script("return window.localStorage.getItem(arguments[0]);", key)

    # -- failures -------------------------------------------------------------------------------------

    def save_artifacts(self, name: str) -> list[Path]:
        """A screenshot, the page's HTML and the browser console, under test-artifacts/browser/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        png, html, console = (ARTIFACTS / f"{name}{suffix}" for suffix in (".png", ".html", ".console.txt"))
        self.driver.save_screenshot(str(png))
        html.write_text(self.driver.page_source, encoding="utf-8")
        try:
            entries = self.driver.get_log("browser")
        except WebDriverException:
            entries = []
        console.write_text("\n".join(f"{e.get('level')} {e.get('message')}" for e in entries), encoding="utf-8")
        return [png, html, console]


def _xpath_text(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in text.split("'")) + ")"
