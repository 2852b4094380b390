"""Carrier wire formats and the unified parcel and event types. Pure: no DB, web or I/O."""
