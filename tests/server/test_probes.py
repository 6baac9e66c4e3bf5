"""`/healthz`, `/readyz` and `/metrics`: what a load balancer, a process manager and Prometheus
see, and who may read the metrics."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from powerstrip.host import Host
from powerstrip.store import create_engine, head_revision
from tests.server.local_host import local_host
from tests.services import redis_url_for_tests

pytestmark = pytest.mark.anyio


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def samples(text_body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition text: (name, sorted labels) → value."""
    found = {}
    for family in text_string_to_metric_families(text_body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_health_and_readiness_answer_ok_on_a_working_host(tmp_path: Path) -> None:
    async with local_host(tmp_path) as local, local.client() as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "migrations", "shutdown"}  # no Redis configured
    assert body["checks"]["migrations"]["detail"] == f"at {head_revision()}"


async def test_readiness_names_a_database_behind_on_its_migrations(tmp_path: Path) -> None:
    async with local_host(tmp_path) as local, local.client() as client:
        engine = create_engine(local.settings.database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
            ready = await client.get("/readyz")
            assert (await client.get("/healthz")).status_code == 200  # alive all the same
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE alembic_version SET version_num = :head"),
                    {"head": head_revision()},
                )
            again = await client.get("/readyz")
        finally:
            await engine.dispose()
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["migrations"]
    assert "the database is at 0001" in ready.json()["checks"]["migrations"]["detail"]
    assert again.status_code == 200


async def test_readiness_fails_clearly_when_redis_does_not_answer(tmp_path: Path) -> None:
    url = f"redis://:not-a-real-password@127.0.0.1:{_closed_port()}/0"
    async with local_host(tmp_path, redis_url=url) as local, local.client() as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["failed"] == ["redis"]
    assert body["checks"]["database"]["ok"] is True
    assert "not-a-real-password" not in ready.text
    assert str(url) not in ready.text


async def test_readiness_checks_a_real_redis(tmp_path: Path) -> None:
    url = redis_url_for_tests()
    async with local_host(tmp_path, redis_url=url) as local, local.client() as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"] == {"ok": True, "detail": "reachable"}


async def test_readiness_says_the_server_is_draining(tmp_path: Path) -> None:
    async with local_host(tmp_path) as local, local.client() as client:
        host: Host = local.server.app.state.host  # type: ignore[attr-defined]
        host.drain.begin(grace=60)
        ready = await client.get("/readyz")
        health = await client.get("/healthz")
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["shutdown"]
    assert health.status_code == 200


async def test_metrics_are_for_admins_or_the_metrics_token(tmp_path: Path) -> None:
    token = "metrics-scraper-token-0123456789"
    async with local_host(tmp_path, metrics_token=token) as local:
        async with local.client() as anonymous:
            nobody = await anonymous.get("/metrics")
        async with local.client({"Authorization": "Bearer wrong-token-000000"}) as wrong:
            refused = await wrong.get("/metrics")
        async with await local.user("ada") as ada:
            member = await ada.get("/metrics")
        async with await local.user("root", admin=True) as root:
            admin = await root.get("/metrics")
        async with local.client({"Authorization": f"Bearer {token}"}) as scraper:
            scraped = await scraper.get("/metrics")
    assert (nobody.status_code, refused.status_code, member.status_code) == (401, 401, 403)
    assert admin.status_code == 200
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "powerstrip_queue_depth 0.0" in scraped.text


async def test_requests_are_counted_by_route_template_never_by_path(tmp_path: Path) -> None:
    token = "metrics-scraper-token-0123456789"
    async with local_host(tmp_path, metrics_token=token) as local:
        async with await local.user("ada") as ada:
            missing = await ada.get("/api/conversations/conversation-id-that-is-secret")
            assert missing.status_code == 404
            assert (await ada.get("/v1/models")).status_code == 200
            assert (await ada.get("/no-such-page-with-a-secret-name")).status_code == 404
        async with local.client({"Authorization": f"Bearer {token}"}) as scraper:
            scraped = (await scraper.get("/metrics")).text
    found = samples(scraped)
    route = "/api/conversations/{conversation_id}"
    key = (
        "powerstrip_http_requests_total",
        (("method", "GET"), ("route", route), ("status", "404")),
    )
    assert found[key] >= 1
    v1 = (
        "powerstrip_http_requests_total",
        (("method", "GET"), ("route", "/v1/models"), ("status", "200")),
    )
    assert found[v1] >= 1
    unmatched = (
        "powerstrip_http_requests_total",
        (("method", "GET"), ("route", "unmatched"), ("status", "404")),
    )
    assert found[unmatched] >= 1
    assert "conversation-id-that-is-secret" not in scraped
    assert "secret-name" not in scraped


async def test_queue_depth_comes_from_the_job_queues_hook(tmp_path: Path) -> None:
    async with local_host(tmp_path) as local:
        host: Host = local.server.app.state.host  # type: ignore[attr-defined]

        async def depth() -> int:
            return 7

        host.metrics.queue_depth = depth
        async with await local.user("root", admin=True) as root:
            scraped = (await root.get("/metrics")).text
    assert samples(scraped)[("powerstrip_queue_depth", ())] == 7
