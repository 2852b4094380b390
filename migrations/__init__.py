"""Alembic migrations; shipped with the package so ``gongpei db upgrade`` works from any directory."""
