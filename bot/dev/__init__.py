"""Development tools, not part of the running service: a stand-in for LINE's API (``fakeline``)
for the tests, the benchmarks and the local simulator (``make run``)."""
