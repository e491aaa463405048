"""The app's store comes from STORAGE_URL, once per app."""

from __future__ import annotations

import io
import uuid

import pytest
from botocore.exceptions import ClientError

from backend import config as config_module
from backend import create_app
from backend.extensions import db
from backend.storage import create_store, get_store, new_key
from backend.storage.local import LocalStore
from backend.storage.s3 import S3Store
from tests.helpers.stacks import app_config
from tests.helpers.storage import S3_REGION
from tests.helpers.work import unit_of_work


@pytest.fixture
def make_app(stack, tmp_path):
    apps = []

    def make(**overrides):
        app = create_app(app_config(stack, tmp_path / "instance", **overrides))
        apps.append(app)
        return app

    yield make
    for app in apps:
        with unit_of_work(app):
            db.engine.dispose()


@pytest.fixture
def aws_credentials(monkeypatch):
    """The standard AWS variables, the way a deployment hands credentials to boto3."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "env-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-key")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_default_is_a_directory_under_the_instance_path(make_app, tmp_path):
    app = make_app()

    with unit_of_work(app):
        store = get_store()
        again = get_store()

    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "instance" / "blobs").resolve()
    assert again is store


def test_each_app_has_its_own_store(make_app, tmp_path):
    first = make_app(STORAGE_URL=(tmp_path / "one").as_uri())
    second = make_app(STORAGE_URL=(tmp_path / "two").as_uri())

    with unit_of_work(first):
        first_store = get_store()
    with unit_of_work(second):
        second_store = get_store()

    assert first_store is not second_store
    assert (first_store.root.name, second_store.root.name) == ("one", "two")


def test_s3_url_with_endpoint_and_env_credentials(make_app, s3_endpoint, aws_credentials):
    bucket = f"dvc-app-{uuid.uuid4().hex[:12]}"
    app = make_app(
        STORAGE_URL=f"s3://{bucket}/dossiers",
        S3_ENDPOINT_URL=s3_endpoint,
        S3_REGION=S3_REGION,
        S3_ADDRESSING_STYLE="path",
    )

    with unit_of_work(app):
        store = get_store()
        key = new_key()
        store.put(key, io.BytesIO(b"payload"), max_size=100)

    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == (bucket, "dossiers")
    assert store.client.meta.region_name == S3_REGION
    assert store.client.head_object(Bucket=bucket, Key=f"dossiers/{key}")["ContentLength"] == 7


def test_production_never_creates_the_bucket(s3_endpoint, aws_credentials):
    bucket = f"dvc-prod-{uuid.uuid4().hex[:12]}"
    config = {
        "APP_ENV": "production",
        "STORAGE_URL": f"s3://{bucket}",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": S3_REGION,
    }

    store = create_store(config)

    with pytest.raises(ClientError) as missing:
        store.client.head_bucket(Bucket=bucket)
    assert missing.value.response["Error"]["Code"] == "404"


def test_config_reads_storage_settings_from_the_environment(tmp_path):
    loaded = config_module.load(
        str(tmp_path),
        {
            "SECRET_KEY": "x",
            "STORAGE_URL": "s3://attachments",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "S3_REGION": "ap-southeast-1",
            "S3_ADDRESSING_STYLE": "path",
        },
    )

    assert loaded["STORAGE_URL"] == "s3://attachments"
    assert loaded["S3_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert loaded["S3_REGION"] == "ap-southeast-1"
    assert loaded["S3_ADDRESSING_STYLE"] == "path"
    assert config_module.load(str(tmp_path), {"SECRET_KEY": "x"})["STORAGE_URL"] is None


@pytest.mark.parametrize(
    "environ",
    [
        {"STORAGE_URL": "ftp://files.example/blobs"},
        {"STORAGE_URL": "/srv/blobs"},
        {"STORAGE_URL": "s3://"},
        {"S3_ADDRESSING_STYLE": "sideways"},
    ],
)
def test_config_refuses_storage_settings_it_cannot_use(tmp_path, environ):
    with pytest.raises(RuntimeError, match=r"STORAGE_URL|S3_ADDRESSING_STYLE"):
        config_module.load(str(tmp_path), {"SECRET_KEY": "x", **environ})
