"""An SMTP server that takes its time: aiosmtpd's Mailbox handler, waiting DELAY seconds
before accepting each message (the connection stays open meanwhile, as with a slow relay).

    PYTHONPATH=tests/it python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c slow_smtp.SlowMailbox MAILDIR DELAY
"""

import asyncio

from aiosmtpd.handlers import Mailbox


class SlowMailbox(Mailbox):
    def __init__(self, mail_dir, delay):
        super().__init__(mail_dir)
        self.delay = float(delay)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 2:
            parser.error("SlowMailbox takes MAILDIR DELAY_SECONDS")
        return cls(args[0], args[1])

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)
