"""docker-compose.yaml, the Dockerfile and .env.example: as far as a machine without Docker can check.

``docker-compose config`` (Debian's docker-compose 1.29) resolves the file with a .env made the way
the README says (.env.example filled by fill_secrets.py), and the tests check what it resolved to:
every component agrees on its databases, broker and keys; every address reaches a service that
listens there; the commands parse in this Airflow; the receiver's command loads its app with the
deployment's settings; credentials reach only the containers that need them.
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


@pytest.fixture(scope="module")
def filled_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A .env made the way the README says: a copy of .env.example, then fill_secrets.py."""
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    shutil.copy(ENV_EXAMPLE, env_file)
    subprocess.run([sys.executable, str(REPO / "scripts" / "compose" / "fill_secrets.py"), str(env_file)],
                   capture_output=True, check=True, timeout=30)
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if line and line[0] != "#")
    return env_file, values


@pytest.fixture(scope="module")
def rendered(filled_env: tuple[Path, dict[str, str]]) -> dict[str, Any]:
    """What docker-compose itself resolves from the file and the filled .env, demo profile included."""
    done = docker_compose("--profile", "demo", "config", env_file=filled_env[0])
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)["services"]


def _env(rendered: dict[str, Any], service: str) -> dict[str, str]:
    return {name: str(value) for name, value in (rendered[service].get("environment") or {}).items()}


# What every Airflow component must agree on: one metadata DB, one broker, one set of keys.
SHARED_AIRFLOW_SETTINGS = (
    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
    "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__CORE__TEST_CONNECTION", "VBOTFLOW_UI_TIMEZONE", "VBOTFLOW_DB_URL", "VBOTFLOW_PRIVACY_KEY",
    "VBOTFLOW_SPOOL_DIR",
)


def test_every_airflow_component_gets_the_same_databases_broker_and_keys(
        rendered: dict[str, Any], filled_env: tuple[Path, dict[str, str]]) -> None:
    from sqlalchemy.engine import make_url

    values = filled_env[1]
    envs = {name: _env(rendered, name) for name in AIRFLOW_SERVICES}
    for setting in SHARED_AIRFLOW_SETTINGS:
        assert len({env.get(setting) for env in envs.values()}) == 1, f"components disagree on {setting}"
    env = envs["airflow-scheduler"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    metadata = make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert (metadata.drivername, metadata.username, metadata.password, metadata.host, metadata.database) == (
        "postgresql+psycopg", values["POSTGRES_USER"], values["POSTGRES_PASSWORD"], "postgres", values["POSTGRES_DB"])
    async_metadata = make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"])
    assert async_metadata == metadata.set(drivername="postgresql+psycopg_async")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    broker = make_url(env["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.password, broker.host) == (values["REDIS_PASSWORD"], "redis")
    assert _env(rendered, "redis")["REDIS_PASSWORD"] == values["REDIS_PASSWORD"]
    assert env["AIRFLOW__CORE__FERNET_KEY"] == values["AIRFLOW_FERNET_KEY"]
    assert env["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"  # the Test button of Admin → Connections
    assert env["VBOTFLOW_UI_TIMEZONE"] == "Asia/Ho_Chi_Minh"
    # The integration DB: the role postgres-init.sh creates is the one every user of it logs in as.
    integration = make_url(env["VBOTFLOW_DB_URL"])
    postgres = _env(rendered, "postgres")
    assert (integration.username, integration.password, integration.database) == (
        postgres["VBOTFLOW_DB_USER"], postgres["VBOTFLOW_DB_PASSWORD"], postgres["VBOTFLOW_DB_NAME"])
    assert _env(rendered, "receiver")["VBOTFLOW_DB_URL"] == env["VBOTFLOW_DB_URL"]
    # The receiver spools where the workers' erasure and retention look.
    assert _env(rendered, "receiver")["VBOTFLOW_SPOOL_DIR"] == env["VBOTFLOW_SPOOL_DIR"]
    assert _mounts(rendered, "receiver")["receiver-spool"] == _mounts(rendered, "airflow-worker")["receiver-spool"]


def _mounts(rendered: dict[str, Any], service: str) -> dict[str, str]:
    """Volume name → path in the container (docker-compose 1.29 renders ``name:path:mode``)."""
    return {volume.split(":")[0]: volume.split(":")[1] for volume in rendered[service].get("volumes", [])}


def _listening_ports(rendered: dict[str, Any]) -> dict[str, set[int]]:
    """The ports each service is declared to listen on (expose, published targets, official images)."""
    ports: dict[str, set[int]] = {}
    for name, service in rendered.items():
        declared = {int(port) for port in service.get("expose", [])}
        # docker-compose 1.29 renders "ip:port:target/tcp" mappings as text, the others as mappings
        declared |= {int(port["target"] if isinstance(port, dict) else port.rsplit(":", 1)[-1].split("/")[0])
                     for port in service.get("ports", [])}
        if str(service.get("image", "")).startswith("postgres:"):
            declared.add(5432)
        ports[name] = declared
    return ports


def test_every_address_a_service_is_given_reaches_a_service_that_listens_there(rendered: dict[str, Any]) -> None:
    from sqlalchemy.engine import make_url

    listening = _listening_ports(rendered)
    checked = 0
    for name, service in rendered.items():
        for setting, value in _env(rendered, name).items():
            if "://" not in value or setting == "AIRFLOW__API__BASE_URL":  # the browser's address, not a service's
                continue
            url = make_url(value.removeprefix("db+"))
            assert url.host in rendered, f"{name}.{setting} points at {url.host}, not a service"
            assert url.port in listening[url.host], f"{name}.{setting}: {url.host} does not listen on {url.port}"
            checked += 1
        health = service.get("healthcheck", {}).get("test", [])
        for probe in re.findall(r"https?://(?:localhost|127\.0\.0\.1):(\d+)", " ".join(health)):
            if name != "airflow-scheduler":  # its health server is its own port (below)
                assert int(probe) in listening[name], f"{name}'s healthcheck probes port {probe}"
    assert checked >= 10
    # The simulator posts deliveries to the receiver; the proxy forwards to it and listens where published.
    command = " ".join(rendered["simulator"]["command"])
    assert command.startswith("bash /opt/vbotflow/scripts/compose/simulator.sh")
    simulator_script = (REPO / "scripts" / "compose" / "simulator.sh").read_text()
    target = re.search(r"http://(\w+):(\d+)/webhooks/vbot", simulator_script)
    assert target and int(target.group(2)) in listening[target.group(1)]
    proxy = (REPO / "scripts" / "compose" / "receiver-proxy.conf").read_text()
    upstream = re.search(r"server (\w[\w-]*):(\d+);", proxy)
    assert upstream and int(upstream.group(2)) in listening[upstream.group(1)]
    assert int(re.search(r"listen (\d+);", proxy).group(1)) in listening["receiver-proxy"]


def test_the_healthchecks_probe_paths_the_services_serve() -> None:
    from vbotflow.receiver.app import create_app as receiver_app
    from vbotflow_dev.simulator.app import create_app as simulator_app

    receiver = receiver_app({"DB_URL": "sqlite://", "WEBHOOK_TOKENS": "x", "TESTING": True})
    assert receiver.url_map.bind("localhost").match("/healthz", method="GET")[0] == "receiver.healthz"
    assert simulator_app(None).url_map.bind("localhost").match("/_sim/totals", method="GET")[0] == "sim.totals"  # type: ignore[arg-type]
    # The scheduler's health server listens on the port its healthcheck probes.
    done = subprocess.run([sys.executable, "-c", "from airflow.configuration import conf; print(conf.getint("
                           "'scheduler', 'scheduler_health_check_server_port'))"],
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split()[-1] == "8974"
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    assert compose["airflow-scheduler"]["healthcheck"]["test"][-1] == "http://localhost:8974/health"


def test_the_commands_the_airflow_services_run_exist_in_this_airflow(rendered: dict[str, Any], tmp_path: Path) -> None:
    # Parsed by Airflow's own CLI parser, with the executor of the deployment (the celery commands
    # exist only under CeleryExecutor): a renamed or removed command fails here, not in a container.
    commands = {name: rendered[name]["command"] for name in AIRFLOW_SERVICES - {"airflow-init"}}
    commands |= {f"{name} healthcheck": rendered[name]["healthcheck"]["test"][-1]
                 for name in ("airflow-dag-processor", "airflow-triggerer")}
    script = (
        "import json, sys\n"
        "from airflow.cli.cli_parser import get_parser\n"
        "parser = get_parser()\n"
        "for name, command in json.loads(sys.argv[1]).items():\n"
        "    args = command.replace('\"$${HOSTNAME}\"', 'host').replace('\"${HOSTNAME}\"', 'host')\n"
        "    args = args.removeprefix('airflow ').split()\n"
        "    print(name, parser.parse_args(args).func.__name__)\n"
    )
    import json

    done = subprocess.run([sys.executable, "-c", script, json.dumps(commands)], capture_output=True, text=True,
                          timeout=180, check=False,
                          env={**_clean_env(), "AIRFLOW_HOME": str(tmp_path),
                               "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(line.split()[0] for line in done.stdout.splitlines()) == sorted(
        name.split()[0] for name in commands)


def _clean_env() -> dict[str, str]:
    import os

    return {name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW", "VBOTFLOW"))}


def test_the_receiver_command_loads_its_app_with_the_deployments_settings(
        rendered: dict[str, Any], tmp_path: Path) -> None:
    receiver = rendered["receiver"]
    env = {**_clean_env(), **_env(rendered, "receiver"), "VBOTFLOW_SPOOL_DIR": str(tmp_path / "spool")}
    command = receiver["command"]
    argv = command.split() if isinstance(command, str) else list(command)
    assert argv[0] == "gunicorn"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    done = subprocess.run([str(gunicorn), "--check-config", *argv[1:]], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    # With the deployment's token the app accepts deliveries: no "every delivery will get 401".
    assert "every delivery will get 401" not in done.stderr
    without_token = {k: v for k, v in env.items() if k != "VBOTFLOW_WEBHOOK_TOKEN"}
    done = subprocess.run([str(gunicorn), "--check-config", *argv[1:]], env=without_token, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert "every delivery will get 401" in done.stderr


def test_only_the_init_container_sees_the_vbot_and_crm_credentials(
        rendered: dict[str, Any], filled_env: tuple[Path, dict[str, str]]) -> None:
    # init.sh writes them to encrypted connections; no long-running component has them in its environment.
    values = filled_env[1]

    def holders(secret: str) -> set[str]:
        return {name for name in rendered if secret in _env(rendered, name).values()}

    assert holders(values["VBOT_TOKEN"]) == {"airflow-init"}
    assert holders(values["CRM_DB_URL"]) == {"airflow-init", "crm-seed"}
    assert holders(values["AIRFLOW_ADMIN_PASSWORD"]) == {"airflow-init"}
    assert holders(values["VBOTFLOW_WEBHOOK_TOKEN"]) == {"receiver", "simulator"}
    assert holders(values["VBOTFLOW_PRIVACY_KEY"]) == AIRFLOW_SERVICES


def test_init_runs_before_everything_that_needs_migrated_databases(rendered: dict[str, Any]) -> None:
    for name in (AIRFLOW_SERVICES - {"airflow-init"}) | {"receiver"}:
        assert rendered[name]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}, name
    assert rendered["airflow-init"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert rendered["airflow-init"]["restart"] == "no"
    mounts = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["postgres"]["volumes"]
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
