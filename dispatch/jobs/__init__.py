"""Background jobs: RQ job functions take ids, never objects or recipient data."""

ALL_QUEUES: tuple[str, ...] = ("plans", "imports", "matching", "default")
"""Every queue a gongpei worker listens on, most urgent first."""
