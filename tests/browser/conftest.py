"""Fixtures of the browser tests: Debian's headless Chromium driven by selenium, against `make up` stacks.

Needs ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Without them the tests skip,
except under ``CI=true``, where that fails the run. Two ways in, sharing ``harness.py``:

- the Airflow UI as a developer finds it: ``ui_stack`` (one `make up` for the package, nothing
  preset) and ``ui`` (a logged-in ``AirflowUI`` per module, local storage emptied before each test);
- a module's own stack: ``browser_stack`` (one `make up` per module; the module may define
  ``stack_env(conf_dir) -> dict`` for its settings: users, simulator faults, campaign configs),
  ``driver`` (a plain WebDriver per module) and ``login(driver, stack, user)``.

A failing test leaves a screenshot, the page's HTML (and with ``ui`` the browser console) in
``test-artifacts/browser/`` (git-ignored) and prints their paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import ARTIFACTS, AirflowUI, browser_binaries, new_driver
from tests.conftest import IN_CI
from tests.stack import Stack, running_stack


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(getattr(request.node, f"report_{when}", None) is not None
               and getattr(request.node, f"report_{when}").failed for when in ("setup", "call"))


def _artifact_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::")[-1])


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    binaries = browser_binaries()
    if binaries is None:
        message = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        if IN_CI:
            pytest.fail(message + " (CI=true: the browser tests must run, not skip)", pytrace=False)
        pytest.skip(message)
    return binaries


# --- the Airflow UI as a developer finds it ------------------------------------------------------


@pytest.fixture(scope="package")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`make up` as a developer runs it: the scheduler schedules, DAGs start paused, nothing preset."""
    with running_stack(tmp_path_factory.mktemp("ui-stack-var"), AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="True") as stack:
        yield stack


@pytest.fixture(scope="module")
def browser(chromium: tuple[str, str], ui_stack: Stack,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowUI]:
    """One headless Chromium per test module, with a fresh profile, logged in as the admin."""
    driver = new_driver(tmp_path_factory.mktemp("chromium-profile"))
    try:
        ui = AirflowUI(driver, ui_stack.airflow)
        ui.login("admin", ui_stack.admin_password)
        yield ui
    finally:
        driver.quit()


@pytest.fixture
def ui(request: pytest.FixtureRequest, browser: AirflowUI) -> Iterator[AirflowUI]:
    """The module's browser as a new visitor finds it (nothing in its local storage), still logged in."""
    browser.forget_preferences()
    yield browser
    if _failed(request):
        paths = browser.save_artifacts(_artifact_name(request))
        print(f"\nbrowser artifacts of {request.node.nodeid}:\n  " + "\n  ".join(str(p) for p in paths))


# --- a module's own stack -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    make_env: Callable[[Path], dict[str, str]] | None = getattr(request.module, "stack_env", None)
    env = make_env(tmp_path_factory.mktemp("browser-stack-conf")) if make_env else {}
    with running_stack(tmp_path_factory.mktemp("browser-stack"), **env) as stack:
        yield stack


@pytest.fixture(scope="module")
def module_driver(chromium: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = new_driver(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def driver(request: pytest.FixtureRequest, module_driver: Any) -> Iterator[Any]:
    """The module's WebDriver; on failure a screenshot of the window and the HTML of the page (or frame)."""
    yield module_driver
    if _failed(request):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = str(ARTIFACTS / _artifact_name(request))
        Path(stem + ".html").write_text(module_driver.page_source, encoding="utf-8")
        module_driver.switch_to.default_content()
        module_driver.save_screenshot(stem + ".png")
        print(f"\nscreenshot of the failure: {stem}.png (page: {stem}.html)")


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
