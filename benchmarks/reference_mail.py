"""The naive MIME baseline: a message built the straightforward way with `email.message.EmailMessage`.

`outreach.mail.message.MessageFactory` is measured against it (case render) and proved equal to it (tests/test_mail.py
parses both back and compares headers and parts). It lives here, not in the package: outreach never sends it.
"""

from __future__ import annotations

import email.policy
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from outreach.mail.headers import MAX_NAME, clean_header_value, format_date, header_address, list_unsubscribe_value
from outreach.mail.message import AttachmentLike, Personal, SenderInfo, is_utf8


def build_reference(sender: SenderInfo, attachments: Sequence[AttachmentLike], personal: Personal) -> bytes:
    """The same message as `MessageFactory(sender, attachments).build(personal)`, built with EmailMessage.

    Headers are written unfolded (max_line_length=0): CPython 3.11's folder drops the space between some
    encoded-words and RFC 2047-encodes List-Unsubscribe, both wrong. These bytes are only parsed back and
    compared, never sent.
    """
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = Address(display_name=clean_header_value(sender.name)[:MAX_NAME],
                              addr_spec=header_address(sender.address))
    message["To"] = Address(display_name=clean_header_value(personal.to_name)[:MAX_NAME],
                            addr_spec=header_address(personal.to_address))
    message["Subject"] = clean_header_value(personal.subject)
    message["Date"] = format_date(personal.date)
    message["Message-ID"] = personal.message_id
    if sender.reply_to:
        message["Reply-To"] = header_address(sender.reply_to)
    list_name = clean_header_value(sender.list_name)[:MAX_NAME]
    message["List-Id"] = (f"{list_name} " if list_name else "") + f"<{sender.effective_list_id}>"
    message["List-Unsubscribe"] = list_unsubscribe_value(personal.unsubscribe_url,
                                                         sender.unsubscribe_mailto or sender.address)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(personal.text, charset="utf-8")
    message.add_alternative(personal.html, subtype="html", charset="utf-8")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        data = Path(attachment.path).read_bytes()
        params = {"charset": "utf-8"} if maintype == "text" and is_utf8(data) else None
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=clean_header_value(attachment.filename), params=params)
    if sender.language:  # after the parts: set_content and add_attachment move Content-* headers
        message["Content-Language"] = sender.language
    return message.as_bytes(policy=email.policy.SMTP.clone(max_line_length=0))
