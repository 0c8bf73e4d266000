"""The audit key: from the environment, or a key file the instance folder keeps readable by its owner only;
production never makes one up."""
from __future__ import annotations

import stat

import pytest

import config
from app import create_app
from conftest import AUDIT_KEY
from engine.history.sealing import Sealer, parse_keys


@pytest.fixture()
def instance_dir(tmp_path, monkeypatch):
    """An empty instance folder in place of the repository's."""
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    return tmp_path


def test_development_creates_an_owner_only_key_file_and_keeps_using_it(instance_dir):
    keys = config.load_audit_keys({"ENV_NAME": "development"})
    assert len(keys) == 1 and len(keys[0]) == 32
    assert stat.S_IMODE((instance_dir / "audit_key").stat().st_mode) == 0o600
    assert config.load_audit_keys({"ENV_NAME": "development"}) == keys


def test_production_refuses_to_start_without_a_key(instance_dir, monkeypatch):
    monkeypatch.setenv("KESU_ENV", "production")
    with pytest.raises(RuntimeError, match="KESU_AUDIT_KEY"):
        create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "a-real-secret", "AUDIT_KEY": None})
    assert not (instance_dir / "audit_key").exists()


def test_production_seals_with_the_key_file_it_was_given(instance_dir, monkeypatch):
    (instance_dir / "audit_key").write_text(f"{AUDIT_KEY}\n{'ab' * 32}\n")  # the newest first, then a retired one
    monkeypatch.setenv("KESU_ENV", "production")
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "a-real-secret", "AUDIT_KEY": None})
    assert app.extensions["kesu.engine"].auditor.sealer.sign(b"x") == Sealer([bytes.fromhex(AUDIT_KEY)]).sign(b"x")


@pytest.mark.parametrize("text", ["not hex at all", "ab" * 16, ""])
def test_a_key_that_is_not_hex_of_32_bytes_is_refused_with_what_is_expected(text):
    with pytest.raises(ValueError, match="64 hex digits"):
        parse_keys(text)


def test_keys_are_listed_newest_first_by_commas_or_lines():
    assert parse_keys(f" {AUDIT_KEY} ,\n{'ab' * 32}\n") == (bytes.fromhex(AUDIT_KEY), bytes.fromhex("ab" * 32))
