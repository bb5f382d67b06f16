"""The group committer's linger: a busy stream of commits shares transactions, a lone one waits
for nothing. The writer here returns at once, as SQLite's does on the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from engine.persistence.group_commit import GroupCommitter, Outcome


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def write(self, items: Sequence[int]) -> Sequence[Outcome]:
        self.batches.append(list(items))
        return [None] * len(items)


async def _stream(committer: GroupCommitter[int], count: int) -> None:
    """`count` callers, each arriving one loop iteration after the previous one."""

    async def caller(i: int) -> None:
        for _ in range(i):
            await asyncio.sleep(0)
        await committer.submit(i)

    await asyncio.gather(*(caller(i) for i in range(count)))


async def test_a_busy_stream_of_commits_shares_transactions_with_linger() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.write, linger=0.05)
    await committer.submit(-1)  # the first batch: nothing to linger after
    await _stream(committer, 20)
    await committer.close()
    assert sorted(i for batch in recorder.batches for i in batch) == list(range(-1, 20))
    assert len(recorder.batches) <= 4


async def test_without_linger_each_loop_iteration_writes_alone() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.write)
    await _stream(committer, 20)
    await committer.close()
    assert len(recorder.batches) >= 10  # what linger is for


async def test_a_lone_commit_after_a_quiet_spell_does_not_wait() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.write, linger=1.0)
    await asyncio.wait_for(committer.submit(1), 0.5)  # the first commit: nothing to linger after
    await asyncio.sleep(1.1)  # a quiet spell longer than the linger
    await asyncio.wait_for(committer.submit(2), 0.5)  # a committer that always lingered takes 1 s
    assert recorder.batches == [[1], [2]]
    await committer.close()
