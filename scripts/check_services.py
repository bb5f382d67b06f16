"""Fail with one clear line when PostgreSQL or Redis for the second test pass cannot be reached."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis


def main(pg_url: str, redis_url: str) -> int:
    problems = [_postgres_problem(pg_url), _redis_problem(redis_url)]
    for problem in filter(None, problems):
        print(
            f"make test: error: {problem}; start it, or set SUNDIAL_TEST_BACKENDS=sqlite to run only the embedded pass",
            file=sys.stderr,
        )
    return 1 if any(problems) else 0


def _postgres_problem(pg_url: str) -> str | None:
    parts = urlsplit(pg_url.replace("postgres://", "postgresql://", 1))
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    try:
        with psycopg.connect(admin, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or ["no answer"])[0]
        return f"PostgreSQL at {parts.hostname}:{parts.port or 5432} cannot be reached ({first})"
    return None


def _redis_problem(redis_url: str) -> str | None:
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        return f"Redis at {redis_url} cannot be reached ({exc})"
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
