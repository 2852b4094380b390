"""Batching, the vehicle-routing model and its solvers, the revenue split. Pure: integers in, integers out."""
