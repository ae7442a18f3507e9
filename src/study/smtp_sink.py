"""A real SMTP server that keeps what it receives: the relay the assistant sends its replies to in
local mode and in the tests (``LocalSmtpSink`` runs it as a process). Each accepted message is
written to the folder as ``<n>.eml``, exactly as it arrived, with its envelope in ``<n>.json``.

    python -m study.smtp_sink --port 2526 --folder mail/
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session


class KeepEverything:
    def __init__(self, folder: Path):
        self.folder = folder
        self.numbers = itertools.count(len(list(folder.glob("*.eml"))) + 1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        number = next(self.numbers)
        content = envelope.original_content or b""
        (self.folder / f"{number}.json").write_text(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos}))
        (self.folder / f"{number}.eml.tmp").write_bytes(content)
        (self.folder / f"{number}.eml.tmp").replace(self.folder / f"{number}.eml")  # whole, or not there
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    handler = KeepEverything(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, enable_SMTPUTF8=True), host, port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.folder))


if __name__ == "__main__":
    main()
