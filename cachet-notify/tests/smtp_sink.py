"""A real SMTP server for the notification tests (aiosmtpd, from PyPI).

Listens on 127.0.0.1:PORT and writes every message it accepts to DIR as one JSON file:
the envelope, the headers, and the decoded plain-text and HTML parts (Python's email
package does the MIME decoding). Runs until it is killed.

    python smtp_sink.py PORT DIR
"""

import asyncio
import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {"text/plain": None, "text/html": None}
        for part in message.walk():
            kind = part.get_content_type()
            if kind in parts and parts[kind] is None:
                parts[kind] = part.get_content()
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_to": list(envelope.rcpt_tos),
            "headers": [[k, str(v)] for k, v in message.items()],
            "text": parts["text/plain"],
            "html": parts["text/html"],
        }
        name = "%d-%06d" % (os.getpid(), self.count)
        tmp = os.path.join(self.folder, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, os.path.join(self.folder, name + ".json"))
        return "250 OK"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("LISTENING", port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
