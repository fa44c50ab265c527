"""The originals key: a bad one stops the process; production needs none of its own."""

from tests.test_settings import manage


def test_a_bad_originals_key_stops_the_process():
    result = manage("check", DICOM_ORIGINALS_KEY="not-a-key")
    assert result.returncode != 0 and "DICOM_ORIGINALS_KEY must be a Fernet key" in result.stderr


def test_a_fernet_key_is_accepted():
    assert manage("check", DICOM_ORIGINALS_KEY="A" * 43 + "=").returncode == 0
