"""The sealed backup format: what goes in comes out, and nothing else opens or passes."""

from __future__ import annotations

import io
import os

import pytest

from bot.backups import seal

ABOUT = {"database": "sqlite", "revision": "0006", "data_keys": ["3f2a-91c0-5b7e-d418"]}
# Three full chunks and a bit: the last chunk, the boundaries and the order all count.
PAYLOAD = os.urandom(3 * seal.CHUNK + 1234)


REAL_COST = seal.SCRYPT


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch):
    """A low scrypt cost for the format's tests (the header carries it; readers follow it)."""
    monkeypatch.setattr(seal, "SCRYPT", {"n": 2**10, "r": 8, "p": 1})


def sealed(payload: bytes, to) -> bytes:
    out = io.BytesIO()
    writer = seal.Writer(out, to, ABOUT)
    for i in range(0, len(payload), 10_000):  # written in pieces, as a dump streams
        writer.write(payload[i : i + 10_000])
    writer.close()
    return out.getvalue()


def opened(data: bytes, key) -> bytes:
    inp = io.BytesIO(data)
    header = seal.read_header(inp)
    return b"".join(seal.opened(inp, header, key))


def test_a_passphrase_opens_what_it_sealed_and_a_wrong_one_does_not():
    data = sealed(PAYLOAD, seal.Passphrase("correct horse battery"))
    assert PAYLOAD[:64] not in data
    assert opened(data, seal.Passphrase("correct horse battery")) == PAYLOAD
    with pytest.raises(seal.SealError, match="口令或私钥不对"):
        opened(data, seal.Passphrase("correct horse batterY"))


def test_the_header_says_what_the_backup_is_without_a_key(monkeypatch):
    monkeypatch.setattr(seal, "SCRYPT", REAL_COST)
    header = seal.read_header(io.BytesIO(sealed(b"", seal.Passphrase("p" * 12))))
    assert {k: header[k] for k in ABOUT} == ABOUT
    # What guessing a passphrase costs anyone holding a copy: 128 MiB of memory a guess.
    assert header["lock"] | {"salt": ""} == {
        "type": "scrypt",
        "salt": "",
        "n": 2**17,
        "r": 8,
        "p": 1,
    }


def test_a_header_asking_for_an_absurd_scrypt_cost_is_refused():
    data = sealed(b"x", seal.Passphrase("p" * 12)).replace(b'"n": 1024', b'"n": 1073741824')
    with pytest.raises(seal.SealError, match="scrypt"):
        opened(data, seal.Passphrase("p" * 12))


@pytest.mark.parametrize("size", [0, 1, seal.CHUNK, 2 * seal.CHUNK])
def test_chunk_boundaries_round_trip(size):
    payload = os.urandom(size)
    assert opened(sealed(payload, seal.Passphrase("p" * 12)), seal.Passphrase("p" * 12)) == payload


def test_a_public_key_seals_what_only_its_secret_opens():
    secret = seal.SecretKey.generate()
    public = seal.PublicKey.parse(secret.public().text())
    data = sealed(PAYLOAD, public)
    assert opened(data, seal.SecretKey.parse(secret.text())) == PAYLOAD
    with pytest.raises(seal.SealError, match="另一把公钥"):
        opened(data, seal.SecretKey.generate())
    with pytest.raises(seal.SealError, match="用公钥加密的"):
        opened(data, seal.Passphrase("p" * 12))


def test_a_file_cut_short_at_a_chunk_boundary_does_not_open():
    key = seal.Passphrase("p" * 12)
    data = sealed(PAYLOAD, key)
    body = len(data) - (len(PAYLOAD) - 3 * seal.CHUNK + 16)  # without the last chunk
    with pytest.raises(seal.SealError, match="第 3 块损坏或被截断"):
        opened(data[:body], key)


def test_a_changed_header_or_byte_does_not_open():
    key = seal.Passphrase("p" * 12)
    data = sealed(PAYLOAD, key)
    with pytest.raises(seal.SealError):
        opened(data.replace(b'"revision": "0006"', b'"revision": "0001"'), key)
    flipped = bytearray(data)
    flipped[-100] ^= 1
    with pytest.raises(seal.SealError, match="损坏"):
        opened(bytes(flipped), key)
    with pytest.raises(seal.SealError, match="不是 veteranbot backup"):
        seal.read_header(io.BytesIO(b"PGDMP\x01\x0e"))
