import pytest

from bot.throttle import TokenBucket


def test_a_burst_passes_then_the_rate_holds():
    bucket = TokenBucket(rate=30, burst=30, clock=lambda: 0.0)
    assert sum(bucket.try_take(0.0) for _ in range(40)) == 30
    assert bucket.wait_time(0.0) == pytest.approx(1 / 30)
    assert bucket.try_take(1 / 30)
    assert not bucket.try_take(1 / 30)


def test_tokens_never_exceed_the_burst_after_a_long_idle():
    bucket = TokenBucket(rate=1, burst=3)
    assert sum(bucket.try_take(1000.0) for _ in range(10)) == 3


def test_retry_after_empties_the_bucket_for_that_long():
    bucket = TokenBucket(rate=10, burst=10)
    bucket.penalise(0.0, seconds=5)
    assert not bucket.try_take(4.9)
    assert bucket.wait_time(4.9) == pytest.approx(0.1 + 0.1, abs=1e-9)
    assert bucket.try_take(5.11)  # one token 1/rate after the penalty ends


def test_a_clock_going_backwards_does_not_mint_tokens():
    bucket = TokenBucket(rate=1, burst=1)
    assert bucket.try_take(10.0)
    assert not bucket.try_take(5.0)
    assert not bucket.try_take(10.5)
    assert bucket.try_take(11.0)
