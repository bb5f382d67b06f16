"""Settings and database URLs: what an operator may type, and what they are told when it is wrong."""

from __future__ import annotations

import asyncpg
import pytest

from engine.config import EngineConfig, parse_port
from engine.errors import ConfigError
from engine.persistence.migrations import MIGRATIONS, pending_migrations
from engine.persistence.postgres import describe_error
from engine.persistence.url import parse_database_url


@pytest.mark.parametrize(
    ("url", "dialect", "path", "shown"),
    [
        ("sqlite:///var/engine.sqlite3", "sqlite", "var/engine.sqlite3", "sqlite:///var/engine.sqlite3"),
        ("sqlite:////srv/sundial/e.db", "sqlite", "/srv/sundial/e.db", "sqlite:////srv/sundial/e.db"),
        ("sqlite://:memory:", "sqlite", ":memory:", "sqlite://:memory:"),
        ("sqlite:///:memory:", "sqlite", ":memory:", "sqlite://:memory:"),
        ("postgresql://postgres@127.0.0.1:5432/e", "postgresql", "", "postgresql://postgres@127.0.0.1:5432/e"),
        ("postgres://u:s3cret@db.internal/e?sslmode=require", "postgresql", "", "postgres://u@db.internal/e"),
        ("postgresql://u:pw@[::1]:5433/e", "postgresql", "", "postgresql://u@[::1]:5433/e"),
    ],
)
def test_it_parses_database_urls(url: str, dialect: str, path: str, shown: str) -> None:
    parsed = parse_database_url(url)
    assert (parsed.dialect, parsed.path, str(parsed)) == (dialect, path, shown)
    assert "s3cret" not in repr(parsed)
    assert "pw" not in repr(parsed)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/e", "unknown --db scheme 'mysql' (expected sqlite:///path or"),
        ("not a url", "cannot parse --db URL 'not a url'"),
        ("", "cannot parse --db URL ''"),
        ("sqlite://host/e.db", "must not name a host"),
        ("sqlite:///", "does not name a database file"),
        ("postgresql://u@h:notaport/e", "cannot parse postgresql --db URL"),
        ("postgresql://u@h:5432", "does not name a database"),
    ],
)
def test_it_rejects_bad_database_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_database_url(url)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_it_never_echoes_a_password_from_an_unparseable_url() -> None:
    with pytest.raises(ConfigError) as info:
        parse_database_url("mysq1 :// root:hunter2@db/e")
    assert "hunter2" not in str(info.value)


def test_defaults_match_a_local_temporal_dev_server() -> None:
    config = EngineConfig()
    assert (config.address, config.dev) == ("127.0.0.1:7233", False)
    assert str(config.database) == "sqlite:///var/engine.sqlite3"


@pytest.mark.parametrize(("value", "message"), [("abc", "invalid port 'abc'"), ("70000", "out of range")])
def test_it_rejects_bad_ports(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_port(value)


def test_it_rejects_an_unknown_transport() -> None:
    with pytest.raises(ConfigError, match="unknown transport 'h3' \\(expected one of sundial, grpcio\\)"):
        EngineConfig(transport="h3")


def test_ipv6_hosts_are_bracketed() -> None:
    assert EngineConfig(host="::1", port=1).address == "[::1]:1"


def test_migrations_are_numbered_from_one_and_match_across_dialects() -> None:
    shapes = {dialect: [(m.version, m.description) for m in migrations] for dialect, migrations in MIGRATIONS.items()}
    assert shapes["sqlite"] == shapes["postgresql"]
    assert [version for version, _ in shapes["sqlite"]] == list(range(1, len(shapes["sqlite"]) + 1))


def test_pending_migrations_refuse_a_newer_schema() -> None:
    assert pending_migrations("sqlite", 0) == MIGRATIONS["sqlite"]
    with pytest.raises(ConfigError, match="newer than this engine supports"):
        pending_migrations("sqlite", 999)


def test_postgres_errors_are_summarised_in_a_few_words() -> None:
    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5999)")
    assert describe_error(refused) == "connection refused"
    missing = asyncpg.InvalidCatalogNameError('database "nope" does not exist')
    assert describe_error(missing) == 'database "nope" does not exist'
    assert describe_error(TimeoutError()) == "timed out"
