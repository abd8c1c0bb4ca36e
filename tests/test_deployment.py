"""docker-compose.yaml, the Dockerfile and .env.example: as far as a machine without Docker can check.

``docker-compose config`` (Debian's docker-compose 1.29) interpolates and validates the file with the
values of .env.example; the rest parses the YAML and the Dockerfile and checks what they promise.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"

AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-worker", "airflow-triggerer"}
CORE_SERVICES = {"postgres", "redis", "receiver", "receiver-proxy", *AIRFLOW_SERVICES}
DEMO_SERVICES = {"simulator", "crm-demo", "crm-seed"}
BUILT_FROM_DOCKERFILE = AIRFLOW_SERVICES | {"receiver", "simulator", "crm-seed"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|_KEY$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def docker_compose(*args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (apt-get install -y docker-compose; .ci/run does it)")
    return subprocess.run([binary, "--env-file", str(env_file), "-f", str(COMPOSE), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("profile", [None, "demo"])
def test_docker_compose_config_accepts_the_file_with_env_example(profile: str | None) -> None:
    args = ("--profile", profile) if profile else ()
    done = docker_compose(*args, "config")
    assert done.returncode == 0, done.stderr
    rendered = yaml.safe_load(done.stdout)
    # docker-compose 1.29 renders profiled services too; which profile they need is checked below.
    assert set(rendered["services"]) == CORE_SERVICES | DEMO_SERVICES
    # Interpolated from .env.example: nothing was left unset.
    init_env = rendered["services"]["airflow-init"]["environment"]
    assert init_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert init_env["VBOTFLOW_DB_URL"] == "postgresql+psycopg://vbotflow:change-me-vbotflow-db@postgres:5432/vbotflow"


def test_docker_compose_config_refuses_a_missing_secret(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("\n".join(f"{k}={v}" for k, v in env_example().items() if k != "POSTGRES_PASSWORD"))
    done = docker_compose("config", env_file=env_file)
    assert done.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in done.stderr


def test_every_service_of_the_deployment_is_there(services: dict[str, Any]) -> None:
    assert set(services) == CORE_SERVICES | DEMO_SERVICES
    assert {name for name, s in services.items() if "demo" in s.get("profiles", [])} == DEMO_SERVICES
    commands = {name: services[name].get("command") for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands == {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                        "airflow-dag-processor": "dag-processor", "airflow-worker": "celery worker",
                        "airflow-triggerer": "triggerer"}
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"


def test_the_ui_tests_connections_and_shows_vietnam_time(services: dict[str, Any]) -> None:
    # The API server runs the Test button; every Airflow component gets the same settings anyway.
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled", name
        assert env["VBOTFLOW_UI_TIMEZONE"] == "${VBOTFLOW_UI_TIMEZONE:-Asia/Ho_Chi_Minh}", name
    assert env_example()["VBOTFLOW_UI_TIMEZONE"] == "Asia/Ho_Chi_Minh"


def test_services_run_the_image_built_from_the_dockerfile(services: dict[str, Any]) -> None:
    for name in BUILT_FROM_DOCKERFILE:
        assert services[name]["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
        assert services[name]["image"] == "${VBOTFLOW_IMAGE:-vbotflow:latest}", name
    for name in set(services) - BUILT_FROM_DOCKERFILE:
        assert "build" not in services[name], name
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in COMPOSE.read_text()


def test_init_migrates_both_databases_and_writes_connections(services: dict[str, Any]) -> None:
    init = services["airflow-init"]
    script = init["command"][-1]
    assert script == "/opt/vbotflow/scripts/compose/init.sh"
    text = (REPO / "scripts" / "compose" / "init.sh").read_text()
    assert "airflow db migrate" in text
    assert "vbotflow db upgrade" in text
    assert "airflow connections import" in text
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
    assert services["receiver"]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
    mounts = services["postgres"]["volumes"]
    assert "./scripts/compose/postgres-init.sh:/docker-entrypoint-initdb.d/10-vbotflow.sh:ro" in mounts


def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _walk(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [item for n, value in enumerate(node) for item in _walk(value, f"{path}[{n}]")]
    return [(path, node)]


def test_no_secret_literal_in_the_compose_file(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    for name, value in env_example().items():
        if SECRET_NAME.search(name) and value and not value.startswith("sim-"):
            assert value not in text, f"the value of {name} is written in docker-compose.yaml"
    for path, value in _walk(compose):
        key = path.rsplit(".", 1)[-1]
        if SECRET_NAME.search(key) and not key.endswith("_FILE") and isinstance(value, str) and value:
            assert re.fullmatch(r"\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}", value), f"{path} is not a ${{VARIABLE}}: {value!r}"
        if isinstance(value, str):
            # user:password@ in a URL must come from variables too
            for password in re.findall(r"://[^:/@\s]*:([^@\s]+)@", value):
                assert password.startswith("${"), f"{path} carries a literal password"


def test_every_variable_of_the_compose_file_is_documented_in_env_example() -> None:
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    lines = ENV_EXAMPLE.read_text().splitlines()
    documented = {}
    for n, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            # Documented: the group of variables it belongs to starts right after a comment.
            above = n - 1
            while above >= 0 and "=" in lines[above] and not lines[above].startswith("#"):
                above -= 1
            documented[line.split("=", 1)[0]] = above >= 0 and lines[above].startswith("#")
    assert used - set(documented) == set(), "used in docker-compose.yaml but missing from .env.example"
    assert [name for name, has_comment in documented.items() if not has_comment] == []


def test_env_files_stay_out_of_git_and_the_image() -> None:
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and "var" in ignored and ".venv" in ignored
    tracked = subprocess.run(["git", "ls-files", ".env"], cwd=REPO, capture_output=True, text=True, check=False)
    assert tracked.stdout.strip() == ""


def test_the_receiver_scales_out_behind_its_buffering_proxy(services: dict[str, Any]) -> None:
    receiver = services["receiver"]
    assert "container_name" not in receiver
    assert "ports" not in receiver and receiver["expose"] == ["8081"]  # reached through the proxy only
    assert "receiver-spool:/opt/vbotflow/spool" in receiver["volumes"]
    assert receiver["environment"]["VBOTFLOW_SPOOL_DIR"] == "/opt/vbotflow/spool"
    assert "-c python:vbotflow.receiver.gunicorn_conf" in receiver["command"]
    assert "vbotflow.receiver.wsgi:app" in receiver["command"]
    proxy = services["receiver-proxy"]
    assert proxy["ports"] == ["${RECEIVER_PORT:-8081}:8080"]
    assert "./scripts/compose/receiver-proxy.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"]["receiver"] == {"condition": "service_healthy"}


def test_the_proxy_buffers_whole_requests_and_logs_no_query_string() -> None:
    config = (REPO / "scripts" / "compose" / "receiver-proxy.conf").read_text()
    directives = {line.strip().rstrip(";") for line in config.splitlines() if line.strip().endswith(";")}
    for expected in ("proxy_request_buffering on", "access_log off", "client_max_body_size 1m",
                     "client_body_buffer_size 1m", "client_body_timeout 10s", "client_header_timeout 10s",
                     "server receiver:8081", "listen 8080", "error_log /dev/stderr crit"):
        assert expected in directives, expected
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed: the syntax check needs it (apt-get install -y nginx-light)")
    # nginx -t resolves upstream names: check the file with the service name pointed at loopback.
    checked = config.replace("server receiver:8081;", "server 127.0.0.1:8081;")
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "nginx.conf").write_text(checked)
        done = subprocess.run([nginx, "-t", "-p", directory, "-c", str(Path(directory) / "nginx.conf"),
                               "-g", f"pid {directory}/nginx.pid;"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_long_running_services_have_healthchecks(services: dict[str, Any]) -> None:
    one_shot = {"airflow-init", "crm-seed"}
    missing = [name for name, s in services.items() if name not in one_shot and "healthcheck" not in s]
    assert missing == []
    assert services["receiver"]["healthcheck"]["test"][-1] == "http://localhost:8081/healthz"


def test_the_dockerfile_installs_the_pinned_requirements_then_the_project() -> None:
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert lines[0] == "FROM apache/airflow:3.3.2-python3.11"
    pinned = re.search(r"^apache-airflow==(\S+)$", (REPO / "requirements.txt").read_text(), re.M)
    assert pinned and f"apache/airflow:{pinned.group(1)}-python3.11" in lines[0]
    install_reqs = next(n for n, line in enumerate(lines) if "-r requirements.txt" in line)
    install_project = next(n for n, line in enumerate(lines) if "-e ." in line)
    assert install_reqs < install_project
    assert "-r requirements-deploy.txt" in lines[install_reqs]
    assert "--no-deps" in lines[install_project]
    assert any(line.startswith("COPY") and "requirements.txt" in line for line in lines[:install_reqs])
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in text
    # every line of the deploy lock is pinned
    reqs = [line for line in (REPO / "requirements-deploy.txt").read_text().splitlines()
            if line and not line.startswith(("#", " "))]
    assert reqs and all("==" in line for line in reqs)


def test_scripts_the_compose_file_runs_are_in_the_image() -> None:
    text = COMPOSE.read_text()
    for script in re.findall(r"/opt/vbotflow/(scripts/\S+?\.sh)", text):
        assert (REPO / script).is_file(), script
    assert "COPY --chown=airflow:0 scripts ./scripts" in DOCKERFILE.read_text()
    assert "scripts" not in (REPO / ".dockerignore").read_text().splitlines()


def test_fill_secrets_replaces_every_placeholder_consistently(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    shutil.copy(ENV_EXAMPLE, env_file)
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "compose" / "fill_secrets.py"), str(env_file)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if line and line[0] != "#")
    assert [name for name, value in values.items() if "change-me" in value] == []
    assert values["CRM_DB_URL"] == f"postgresql+psycopg://crm:{values['CRM_DEMO_PASSWORD']}@crm-demo:5432/crm"
    assert len(base64.urlsafe_b64decode(values["AIRFLOW_FERNET_KEY"])) == 32
    from cryptography.fernet import Fernet

    assert Fernet(values["AIRFLOW_FERNET_KEY"]).decrypt(Fernet(values["AIRFLOW_FERNET_KEY"]).encrypt(b"x")) == b"x"
    assert values["POSTGRES_PASSWORD"] != values["REDIS_PASSWORD"]
    # HS512 wants a key of 64 bytes or more: shorter ones make PyJWT warn in every component's log.
    assert len(values["AIRFLOW_JWT_SECRET"].encode()) >= 64
    for secret in (values["POSTGRES_PASSWORD"], values["VBOTFLOW_WEBHOOK_TOKEN"]):
        assert secret not in done.stdout
    assert env_file.stat().st_mode & 0o077 == 0


def test_the_api_server_serves_the_console_and_the_workers_reports(services: dict[str, Any]) -> None:
    # The console is the vbot_console plugin, found through the package's entry point in the image
    # (installed editable, like `make install`); its report links read what the workers wrote.
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '[project.entry-points."airflow.plugins"]' in pyproject
    assert 'vbot_console = "vbot_provider.console.plugin:VBotConsolePlugin"' in pyproject
    assert "pip install --no-cache-dir --no-deps --no-build-isolation -e ." in DOCKERFILE.read_text()
    assert "vbotflow-var:/opt/vbotflow/var" in services["airflow-apiserver"]["volumes"]
    assert "vbotflow-var:/opt/vbotflow/var" in services["airflow-worker"]["volumes"]
    assert "AIRFLOW__CORE__PLUGINS_FOLDER" not in COMPOSE.read_text()  # nothing to copy anywhere
