"""Compose's stand-in for a pager and a ticket system: prints every notification Alertmanager sends,
one line per alert (docker compose logs -f alert-webhook). Standard library only."""

import json
from http.server import BaseHTTPRequestHandler, HTTPServer


class Notifications(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for alert in body["alerts"]:
            labels, summary = alert["labels"], alert["annotations"].get("summary", "")
            print(
                f"{self.path[1:]}: {alert['status']} {labels['alertname']} ({labels.get('severity')}): {summary}",
                flush=True,
            )
        self.send_response(204)
        self.end_headers()


HTTPServer(("0.0.0.0", 8080), Notifications).serve_forever()
