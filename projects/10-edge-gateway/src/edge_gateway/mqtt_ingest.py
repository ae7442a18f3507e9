"""Devices that speak MQTT publish to ``devices/<device id>/images``; the gateway subscribes with
QoS 1 and a persistent session, so what devices publish while the gateway is down or restarting
waits in the broker and arrives when it is back. Each message is handled as an HTTP upload is. The
payload is JSON: ``{"captured_at", "signature", "image_b64"}``.

One window remains: the client library acknowledges a message when it arrives, so a gateway killed
between that and its database commit loses that message (at most the ones in hand, one at a time
here). Closing it needs acknowledgement after the commit, which paho-mqtt offers (``manual_ack``)
and aiomqtt does not yet."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging

import aiomqtt

from edge_gateway import metrics
from edge_gateway.gateway import Gateway, Incoming
from edge_gateway.settings import Settings

log = logging.getLogger(__name__)


class MalformedMessage(ValueError):
    pass


# --8<-- [start:parse]
def parse(topic: str, payload: bytes) -> Incoming:
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "devices" or parts[2] != "images" or not parts[1]:
        raise MalformedMessage(f"topic {topic!r} is not devices/<device id>/images")
    try:
        body = json.loads(payload)
        image = base64.b64decode(body["image_b64"], validate=True)
        return Incoming(parts[1], str(body["captured_at"]), image, str(body["signature"]), "mqtt")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise MalformedMessage(f"payload is not the expected JSON ({type(exc).__name__})") from None


# --8<-- [end:parse]


async def subscribe(settings: Settings, gateway: Gateway) -> None:
    """Handle messages until cancelled; reconnect when the broker goes away."""
    while True:
        try:
            async with aiomqtt.Client(
                settings.mqtt_host or "", settings.mqtt_port, identifier=settings.gateway_id, clean_session=False
            ) as client:
                await client.subscribe(settings.mqtt_topic, qos=1)
                async for message in client.messages:
                    await handle(gateway, str(message.topic), bytes(message.payload))
        except aiomqtt.MqttError as exc:
            log.warning("MQTT connection lost (%s); reconnecting", exc)
            await asyncio.sleep(1)


async def handle(gateway: Gateway, topic: str, payload: bytes) -> str:
    """One message: its outcome, counted (there is nobody to answer over MQTT)."""
    try:
        await gateway.handle(parse(topic, payload))
        outcome = "accepted"
    except Exception as exc:  # any refusal is counted and logged, never fatal to the subscription
        outcome = type(exc).__name__
        log.info("MQTT message on %s refused: %s", topic, exc)
    metrics.IMAGES.labels("mqtt", outcome).inc()
    return outcome
