"""Contracts with carriers, station keepers and drivers; settling a period into statements."""
