"""Browser tests: Debian's headless Chromium driven by selenium, against the stack `make up` starts.

Fixtures, kept small to be shared by every browser test module:

- ``chromium``: one browser per module (a fresh profile, no network but loopback in practice: no
  sync, no component updates, no background requests);
- ``browser_stack``: one `make up` per module; a module may define ``stack_env(tmp_path) -> dict``
  for its own settings (users, simulator faults, campaign configs);
- ``login(driver, stack, user)``: signs in through the simple auth manager's login form.

A failing test leaves a screenshot and the page's HTML in ``test-artifacts/`` (git-ignored); the
path is printed. Without chromium and chromium-driver the tests skip, except under ``CI=true``
(``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stack import REPO, Stack, running_stack

ARTIFACTS = REPO / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1440,1000")


def _binaries() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        message = "chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)"
        if IN_CI:
            pytest.fail(message + "; CI=true: browser tests must run, not skip", pytrace=False)
        pytest.skip(message)
    return browser, driver


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = _binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def browser_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("browser-stack")
    make_env: Callable[[Path], dict[str, str]] | None = getattr(request.module, "stack_env", None)
    env = make_env(tmp_path_factory.mktemp("browser-stack-conf")) if make_env else {}
    with running_stack(var_dir, **env) as stack:
        yield stack


@pytest.fixture
def login() -> Callable[[Any, Stack, str], None]:
    def sign_in(driver: Any, stack: Stack, user: str = "admin") -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        driver.delete_all_cookies()
        driver.get(f"{stack.airflow}/auth/login")
        wait = WebDriverWait(driver, 60)
        wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys(user)
        driver.find_element(By.NAME, "password").send_keys(stack.password(user))
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: any(c["name"] == "_token" for c in d.get_cookies()))

    return sign_in


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(autouse=True)
def screenshot_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed or "chromium" not in request.fixturenames:
        return
    driver = request.getfixturevalue("chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    stem = str(ARTIFACTS / re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.nodeid))
    # The page the test was in (often the console's frame), then the whole window.
    Path(stem + ".html").write_text(driver.page_source, encoding="utf-8")
    driver.switch_to.default_content()
    driver.save_screenshot(stem + ".png")
    print(f"\nscreenshot of the failure: {stem}.png (page: {stem}.html)")  # noqa: T201
