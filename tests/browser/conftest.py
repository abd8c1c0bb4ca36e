"""Fixtures of the browser tests: one `make up` stack for the package, one logged-in browser per module.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Without them the
tests skip, except under ``CI=true``, where that fails the run. A failing test leaves a screenshot,
the page's HTML and the browser console in ``test-artifacts/browser/`` (git-ignored) and prints
their paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser.harness import AirflowUI, browser_binaries, new_driver
from tests.conftest import IN_CI
from tests.stack import Stack, running_stack


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    binaries = browser_binaries()
    if binaries is None:
        message = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        if IN_CI:
            pytest.fail(message + " (CI=true: the browser tests must run, not skip)", pytrace=False)
        pytest.skip(message)
    return binaries


@pytest.fixture(scope="package")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`make up` as a developer runs it: the scheduler schedules, DAGs start paused, nothing preset."""
    with running_stack(tmp_path_factory.mktemp("ui-stack-var")) as stack:
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
    """The module's browser as a new visitor finds it (nothing in its local storage), still logged in.

    When the test fails: a screenshot, the page's HTML and the browser console, their paths printed.
    """
    browser.forget_preferences()
    yield browser
    failed = any(getattr(request.node, f"report_{when}", None) is not None
                 and getattr(request.node, f"report_{when}").failed for when in ("setup", "call"))
    if failed:
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::")[-1])
        paths = browser.save_artifacts(name)
        print(f"\nbrowser artifacts of {request.node.nodeid}:\n  " + "\n  ".join(str(p) for p in paths))
