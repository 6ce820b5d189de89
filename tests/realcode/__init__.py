"""Tests that run the real upstream code (vLLM, LiteLLM, qdrant-client), each from its own virtualenv.

`.ci/run` creates the virtualenvs (pinned; created once under /opt, the version compared on later runs) and
points the tests at them with environment variables; without them the tests skip, and under CI=true fail.
"""
