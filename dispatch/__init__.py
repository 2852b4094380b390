"""The gongpei service: HTTP API, database, jobs and command line."""
