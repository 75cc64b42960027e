"""Shared test set-up: quiet TensorFlow, CPU only, and a clean data-source cache."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest


@pytest.fixture
def fresh_sources(monkeypatch, tmp_path):
    """Forget cached data and network checks; point Keras' cache at an empty folder."""
    from hqc_course import data

    data._forget_loaded_data()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("HQC_OFFLINE", raising=False)
    yield data
    data._forget_loaded_data()


@pytest.fixture
def no_network(monkeypatch):
    """Make every outgoing connection fail the way an offline machine does."""
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
