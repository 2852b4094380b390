"""Background jobs: RQ job functions take ids, never objects or recipient data."""
