"""The daily delivery: subscribers, the ledger of what each chat got, and the broadcast that sends it.

The scheduler that decides when (qotd/scheduler.py) drives it; see docs/delivery.md."""
