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
    committer = GroupCommitter(recorder.write, linger=0.5)
    await asyncio.gather(committer.submit(-2), committer.submit(-1))  # two callers: a busy store
    await _stream(committer, 20)
    await committer.close()
    assert sorted(i for batch in recorder.batches for i in batch) == list(range(-2, 20))
    assert len(recorder.batches) <= 4


async def test_without_linger_each_loop_iteration_writes_alone() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.write)
    await _stream(committer, 20)
    await committer.close()
    assert len(recorder.batches) >= 10  # what linger is for


async def test_a_lone_commit_after_a_quiet_spell_does_not_wait() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.write, linger=2.0)
    await asyncio.gather(committer.submit(-1), committer.submit(0))  # busy once...
    await asyncio.sleep(2.1)  # ...then a quiet spell longer than the linger
    await asyncio.wait_for(committer.submit(2), 1.5)  # a committer that always lingered takes 2 s
    assert recorder.batches == [[-1, 0], [2]]
    await committer.close()


async def test_a_lone_caller_committing_again_and_again_never_waits() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.write, linger=30.0)
    for i in range(5):
        await asyncio.wait_for(committer.submit(i), 0.5)  # a lingering committer would take 30 s
    assert recorder.batches == [[0], [1], [2], [3], [4]]
    await committer.close()
