"""The journal's group commit: how claims share commits at the paid tier's pace and not at the
free tier's (bot/delivery/journal.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.delivery import journal as journal_module
from bot.delivery.journal import Journal

DAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


class RecordingLedger:
    """A ledger that claims every row and records each commit's claims."""

    def __init__(self):
        self.commits: list[list[int]] = []

    def writer(self):
        return None  # (no connection to hold)

    def apply(self, outcomes, claims, now, epoch=None, writer=None):
        self.commits.append([chat for _, chat, _ in claims])
        return set(claims)


async def _claims_in_a_row(elapsed_between: float) -> list[list[int]]:
    """Claim chat 1; then chat 2, and chat 3 while chat 2 waits; `elapsed_between` seconds pass
    on the journal's clock between the first commit and the next claims."""
    ledger, now = RecordingLedger(), [100.0]
    with ThreadPoolExecutor(1) as executor:
        journal = Journal(ledger, executor, lambda: NOW, monotonic=lambda: now[0])
        journal.start()
        assert await journal.claim(DAY, 1)
        now[0] += elapsed_between
        second = asyncio.create_task(journal.claim(DAY, 2))
        for _ in range(5):  # the journal takes chat 2's claim
            await asyncio.sleep(0)
        third = asyncio.create_task(journal.claim(DAY, 3))
        assert await second and await third
        await journal.close(within=1)
    return ledger.commits


async def test_claims_coming_faster_than_commits_share_one(monkeypatch):
    # (a long gather, so a loaded machine cannot let it end before the third claim is queued)
    monkeypatch.setattr(journal_module, "CLAIM_GATHER", 0.5)
    assert await _claims_in_a_row(elapsed_between=0.001) == [[1], [2, 3]]


@pytest.mark.parametrize("elapsed", [0.6, 5.0])
async def test_claims_after_a_quiet_spell_go_at_once(monkeypatch, elapsed):
    monkeypatch.setattr(journal_module, "CLAIM_GATHER", 0.5)
    assert await _claims_in_a_row(elapsed_between=elapsed) == [[1], [2], [3]]
