"""The pure logic: segments from scores, signatures, backoff, frame sampling."""

from __future__ import annotations

import re

import pytest

from video_moderation.services.segments import Segment, flagged_segments
from video_moderation.webhooks import WebhookTargetRefused, backoff_s, resolve_webhook_target, sign, verify


def timeline(scores: list[float], interval: float = 1.0) -> list[tuple[float, float]]:
    return [(i * interval, s) for i, s in enumerate(scores)]


@pytest.mark.parametrize(
    "scores,expected",
    [
        ([0.1, 0.2, 0.1], []),
        ([0.9, 0.1], [Segment(0.0, 1.0, 0.9, 0.0)]),
        ([0.1, 0.85, 0.95, 0.8, 0.1], [Segment(1.0, 4.0, 0.95, 2.0)]),
        ([0.9, 0.1, 0.9], [Segment(0.0, 1.0, 0.9, 0.0), Segment(2.0, 3.0, 0.9, 2.0)]),
        ([0.1, 0.8], [Segment(1.0, 2.0, 0.8, 1.0)]),  # at the threshold counts; the last frame closes it
        ([], []),
    ],
)
def test_segments(scores, expected):
    assert flagged_segments(timeline(scores), 0.8, 1.0) == expected


def test_segments_with_half_second_samples():
    assert flagged_segments(timeline([0.0, 0.9, 0.9, 0.0], 0.5), 0.8, 0.5) == [Segment(0.5, 1.5, 0.9, 0.5)]


def test_signature_round_trip_and_format():
    header = sign("k", b"body", timestamp=1700000000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify("k", b"body", header, now=1700000100)
    assert not verify("k", b"body", header, now=1700001000), "older than five minutes"
    assert not verify("k", b"body!", header, now=1700000100)
    assert not verify("k", b"body", header.replace("t=1700000000", "t=1700000050"), now=1700000100)


def test_backoff_doubles():
    assert [backoff_s(0.5, attempt) for attempt in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]


def test_sampling_follows_the_requested_rate(videos):
    from video_moderation.services.frames import probe, sample_frames

    assert probe(videos["scenes"]).duration_s == 8.0
    assert [f.time_s for f in sample_frames(videos["scenes"], 0.5)] == [0.0, 2.0, 4.0, 6.0]
    assert len(list(sample_frames(videos["scenes"], 10))) == 80  # every frame of a 10 fps video
    assert len(list(sample_frames(videos["scenes"], 30))) == 80  # never more than there are


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),  # the cloud's metadata service
        ("http://127.0.0.1:6379/", "127.0.0.1"),
        ("http://localhost:8000/", "not a public address"),
        ("http://10.1.2.3/hook", "10.1.2.3"),
        ("http://192.168.0.10/hook", "192.168.0.10"),
        ("http://[::1]/hook", "::1"),
        ("http://0.0.0.0/", "0.0.0.0"),
        ("ftp://example.org/file", "not an http(s) URL"),
        ("http://no-such-host.invalid/", "does not resolve"),
    ],
)
def test_webhooks_never_call_a_private_loopback_or_link_local_address(url, why):
    with pytest.raises(WebhookTargetRefused, match=re.escape(why)):
        resolve_webhook_target(url)


def test_an_allow_list_opens_a_network_and_public_addresses_are_always_allowed():
    assert resolve_webhook_target("http://127.0.0.1:9000/hook", ["127.0.0.0/8"]) == ["127.0.0.1"]
    with pytest.raises(WebhookTargetRefused):
        resolve_webhook_target("http://10.1.2.3/hook", ["127.0.0.0/8"])  # only the networks it names
    assert resolve_webhook_target("https://93.184.215.14/hook") == ["93.184.215.14"]  # a literal: no DNS asked
