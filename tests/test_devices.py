"""Queue jobs on a machine with several GPUs: each stage process claims its own device."""

from __future__ import annotations

import os

from reviewlab.cli import devices


def test_each_process_claims_a_free_gpu_and_none_without_a_choice(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert devices.claim_gpu(count=1, locks=tmp_path) is None  # one GPU: nothing to choose
    assert devices.claim_gpu(count=3, locks=tmp_path) == "0"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    assert devices.claim_gpu(count=3, locks=tmp_path) is None  # already pinned: left alone
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")  # a second process (same lock files)
    assert devices.claim_gpu(count=3, locks=tmp_path) == "1"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert devices.claim_gpu(count=3, locks=tmp_path) == "2"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert devices.claim_gpu(count=3, locks=tmp_path) is None  # all taken: share
    for handle in devices._held:
        handle.close()
    devices._held.clear()


def test_no_driver_means_no_gpu(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert devices.gpu_count() == 0
