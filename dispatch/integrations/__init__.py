"""Outbound HTTP to services outside gongpei (road distances, carriers' callbacks).

Every client takes an injectable ``httpx`` transport (``httpx.MockTransport`` in tests), a timeout, and
turns every failure of the far side into a ``DispatchError`` of its own module that says what failed.
"""
