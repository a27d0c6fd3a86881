"""What the measurements mean: causes of the limits and what would lift them, from profiling on this machine.

Kept apart from `report.py` so that the analysis can be revised without touching the generator; regenerate
the document without measuring again with `python -m benchmarks --docs-from-results`.
"""

FINDINGS = """\
## Findings

How these were found: `cProfile` of each path in-process, timers wrapped around the sender's steps, a bare sqlite3
replay of the sender's statements, and the resource usage and /proc status (VmHWM, VmRSS) of the
`outreach` child processes.

### Render + MIME build — met

The fast path holds both targets with room to spare. Per message, with the variants built: two signed links
(itsdangerous + zlib) ≈ 50 µs, the variant's compiled fill-in template ≈ 70 µs, the MIME bytes ≈ 130 µs. What
remains is building each variant once, 16–40 ms, more than half of it in premailer (and three quarters of that in
`Premailer._parse_style_rules`, cssutils serialising every rule's selectors); a campaign has one variant per
language × kind, 30–45 of them, so that is 1–2 s per run — nothing at 100,000 recipients, but a large part of a
1,000-message send.

### Send — not met (0.65–0.67× bare smtplib; 2.1× mailmerge whole-process)

What was done after the first profile: one commit per message (the previous outcome and the next `sending` in
one transaction), `campaigns.first_sent_at/last_sent_at` written per batch instead of per message, a thread per
SMTP connection so the next message is rendered and built while the current one is in flight, and premailer's
output cached on disk (`.outreach-cache/`). That moved one connection from 0.48× to 0.67× bare smtplib.

- **What is left is on the critical path by design.** The exactly-once guarantee needs the server's reply to be
  committed before the next message is handed to the connection (so at most one delivery per connection can be
  `unknown` after a SIGKILL). That commit (≈ 0.3 ms: a deliveries row sits in seven indexes, the covering report
  indexes included) plus two thread hand-offs sit between the reply and the next MAIL FROM, and the build thread
  competes with the SMTP thread for the GIL (an SMTP transaction takes 1.65–2.0 ms inside outreach vs ≈ 1.4 ms
  bare). outreach's own work is ≈ 0.9 ms a message (the discarding-transport row).
- **What would lift it**: let the connection thread send MAIL/RCPT/DATA and the body while the main thread commits,
  and send the final "." only after the commit (this also narrows `unknown` to the true window after the final
  dot) — in `outreach/delivery/transport.py` and `outreach/delivery/sender.py`; fewer per-message index writes (set the
  Message-ID at enqueue time; leave `sent_at` out of `deliveries_reach`'s key); cheaper signed links (two
  itsdangerous tokens with zlib ≈ 0.2 ms a message).
- **Whole process vs mailmerge.** `outreach send` of 1,000 recipients pays start-up (≈ 0.3 s with the database
  libraries) and 45 variant builds (15 languages × 3 kinds, ≈ 1–2 s, premailer the larger part) before the
  per-message costs; caching whole built variants on disk (not only premailer's output) would remove most of the
  fixed part from every run after the first.
- On real relays (Microsoft 365 and university servers allow 30–100 messages a minute) none of this is the limit:
  the rate limiter is.

### Memory — met (88 MB, flat)

The first profile found the quoted-printable line cache of `outreach/mail/message.py` growing with every recipient
(≈ 2.5 MB per 1,000 messages: personal lines were cached per variant and never evicted). It now keeps only lines
repeated in consecutive messages of a part, bounded by size; RSS is flat from 10,000 to 100,000 messages.
Recipients are streamed (enqueued and read in batches of 500).

### Import — met

Encoding detection used to cost ≈ 2.6–3.0 s of CPU on a 100,000-row Windows-1250 file (pure-Python scoring of every
token under each candidate code page); each distinct token is now scored once (the score sum is bit-identical)
and script lookups are memoised: 0.05 s. Re-imports no longer build a full Contact (five JSON decodes) per existing
row. What remains of the first import (≈ 3.5 s, 6–9× the bare csv + sqlite3 floor) is SQLite inserting 100,000 rows
and maintaining the contacts indexes (≈ 1.7 s) and per-row validation (≈ 1.4 s: address syntax, CR/LF checks,
header mapping), which the floor does not do.

### Sheets — met (296 MB for 1,000,000 CSV rows; 303 MB streaming a 5,000,000-row XLSX)

Before the bounds, a 1.6 KB XLSX claiming the used range `A1:XFD1048576` aborted the process (calamine reserves
the declared range: 512 GB), a sparse 1.6 KB XLSX took 123 s and 2.2 GB, and a 3.9 MB XLSX of 5 million rows took
4.2 GB, because calamine holds a sheet's whole used range. Now the zip's declared sizes and the sheet's
`<dimension>` are checked before reading (the declared 5-million-row workbook is refused in under a second at
42 MB), calamine is used only for sheets whose cells all lie in A–Z and below row 200,000 in a part of at most 64
MB, and every other sheet is streamed with expat a megabyte at a time (a workbook without `<dimension>` is read
until the row bound refuses it: 303 MB at the refusal, nothing written). What remains of the peak at 1,000,000
rows is the importer's table of addresses seen in this import (to merge duplicates and report where an address
first appeared: ≈ 200 bytes a row) and the first 64 MB of a CSV held for encoding detection. The streaming reader
costs about 7× calamine's time (Python callbacks per XML element), which is why calamine stays for the common
small sheet; the CSV import benchmark is unchanged within noise (same-run ratio to the floor 8.4/7.5/7.2/5.8× vs
8.4/7.2/7.1/6.0× before; CPU 0.86/0.55/0.78/0.47 s vs 0.82/0.55/0.73/0.42 s at `--size small`, load 9–11).
The wall times of this case were measured with the machine at load 10–11 on 2 cores while a test suite ran: only
the memory figures are meaningful.

### Start-up and reports — met

`outreach --help` imports no database or rendering library. Commands that open the database pay `sqlite_utils`,
which imports numpy when it is installed (25–125 ms measured here); hiding numpy would need a `sys.modules` trick
in `outreach/db/schema.py` and is probably not worth it. The reports are aggregated in SQL over the covering indexes; of
the whole `outreach report --by country,kind,language` process, about half is the SQL and the rest start-up and
rich laying out the 176-row table on stderr (`--format csv` is faster).
"""
