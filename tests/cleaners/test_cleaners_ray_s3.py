"""`clean` from an s3:// pairs dir to an s3:// output, on a real S3 API served locally (moto's server) and a real
two-node Ray cluster: the Ray workers write their shards into the bucket themselves, the driver writes the
manifest last, and the result is the local engine's byte for byte; the local engine uploads to s3:// too."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from codequarry.cleaners import clean
from codequarry.pairs import PairsDir
from codequarry.storage import local_pairs_dir, location, upload_dir

RECIPE = {"name": "ray-s3", "steps": [{"step": "not_null"}, {"step": "code_length", "params": {"min_lines": 3}},
                                      {"step": "exact_dedup"}, {"step": "near_dedup"}, {"step": "split"}]}


@pytest.fixture(scope="module")
def s3_cluster(tmp_path_factory: pytest.TempPathFactory,
               start_two_node_ray: Callable[[], contextlib.AbstractContextManager[Any]]) -> Iterator[Any]:
    """moto's S3 server with a bucket, the AWS_* variables pointing at it, then a two-node Ray cluster (whose
    workers inherit those variables)."""
    pytest.importorskip("ray")
    pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    mp = pytest.MonkeyPatch()
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
                 "CODEQUARRY_WORK_DIR": str(tmp_path_factory.mktemp("work")),
                 "CODEQUARRY_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}.items():
        mp.setenv(k, v)
    boto3.client("s3", endpoint_url=f"http://{host}:{port}").create_bucket(Bucket="cqray")
    try:
        with start_two_node_ray() as c:
            yield c
    finally:
        mp.undo()
        server.stop()


def test_clean_s3_to_s3_on_ray_and_local(s3_cluster: Any, stdlib_pairs: PairsDir, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    reference = clean(stdlib_pairs.path, tmp_path / "local", recipe=RECIPE, batch_rows=100)
    upload_dir(stdlib_pairs.path, "s3://cqray/in")

    m = clean("s3://cqray/in", "s3://cqray/out-ray", recipe=RECIPE, engine="ray", workers=2, batch_rows=100)
    assert m["fingerprint"] == reference["fingerprint"] and m["counts"] == reference["counts"]
    names = location("s3://cqray/out-ray").list_files()
    assert "codequarry.json" in names and "README.md" in names and "report.md" in names
    assert any(n.startswith("data/python/train-") for n in names)  # shards written into the bucket by workers
    assert not any(".codequarry-work" in n or ".tmp" in n for n in names)
    copy = PairsDir(local_pairs_dir("s3://cqray/out-ray"), verify="full")
    assert copy.fingerprint == reference["fingerprint"]
    again = clean("s3://cqray/in", "s3://cqray/out-ray", recipe=RECIPE, engine="ray", batch_rows=100)
    assert again["fingerprint"] == m["fingerprint"]  # a finished clean is found in the bucket, not redone

    # the workers read their chunks from the bucket (the driver's cached copy is current, so it fetched no shard)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        m3 = clean("s3://cqray/in", "s3://cqray/out-ray2", recipe=RECIPE, engine="ray", batch_rows=100)
    assert m3["fingerprint"] == reference["fingerprint"]
    shard_gets = [r.getMessage() for r in caplog.records if "GET /cqray/in/data/" in r.getMessage()]
    assert len(shard_gets) >= len(stdlib_pairs.manifest["files"])

    m2 = clean("s3://cqray/in", "s3://cqray/out-local", recipe=RECIPE, batch_rows=100)
    copy2 = PairsDir(local_pairs_dir("s3://cqray/out-local"), verify="full")
    assert m2["fingerprint"] == copy2.fingerprint == reference["fingerprint"]
    # the local engine's upload and the Ray workers' shards are the same files, byte for byte
    ray_out, local_out = location("s3://cqray/out-ray"), location("s3://cqray/out-local")
    assert local_out.list_files() == names
    assert all(ray_out.read_bytes(n) == local_out.read_bytes(n) for n in names)
