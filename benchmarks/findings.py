"""What the measurements mean: causes of the limits and what would lift them, from profiling on this machine.

Kept apart from `report.py` so that the analysis can be revised without touching the generator; regenerate
the document without measuring again with `python -m benchmarks --docs-from-results`.
"""

FINDINGS = """\
## Findings

How these were found: `cProfile` of each path in-process, timers wrapped around the sender's steps, a bare sqlite3
replay of the sender's statements, and `os.wait4` resource usage of the `outreach` child processes.

### Render + MIME build — met

The fast path holds both targets with room to spare. Per message, with the variants built: two signed links
(itsdangerous + zlib) ≈ 45 µs, the variant's compiled fill-in template ≈ 55 µs, the MIME bytes ≈ 85 µs. What
remains is building each variant once, ≈ 40 ms, more than half of it in premailer (and three quarters of that in
`Premailer._parse_style_rules`, cssutils serialising every rule's selectors); a campaign has one variant per
language × kind, 30–45 of them, so that is 1–2 s per run — nothing at 100,000 recipients, but a large part of a
1,000-message send.

### Send — not met (0.8× bare smtplib with one connection; 5× mailmerge)

- **One connection: every step is in series.** With `--workers 1` (the default) the main thread prepares a message
  (queue row, render, build, commit `sending`), then waits for the whole SMTP transaction, then commits `sent`,
  then prepares the next. Bare smtplib only does the SMTP part. outreach's own work per message is what the
  "discarding transport" row shows (≈ 1.5 ms a message on this machine, more than the ≈ 1.2 ms SMTP transaction
  with the sink), and with one connection the two add up: the ratio is bounded by smtp / (smtp + own work), ≈
  0.45× here. Fix (`outreach/delivery.py`, `Sender._loop`/`_dispatch`): run the transport in a worker thread for
  one connection too and *render and build* the next message while the current one is in flight — committing
  `sending` only when it is handed to the transport, so the crash guarantee (at most N `unknown`) is unchanged.
- **Two commits per message, each rewriting pages of four indexes.** `_prepare` commits `queued → sending` and
  `_handle` commits `sending → sent` plus `UPDATE campaigns SET first_sent_at/last_sent_at`. A deliveries row sits
  in seven indexes (m001's five, the UNIQUE one included, and m003's two covering report indexes, which hold
  `status` and `sent_at`); each status change rewrites a page of the table and of four of them (`campaign_status`,
  `report`, `reach`, and `message_id` or `sent_at`): the memory case's child wrote ≈ 70 KB to disk per message
  (WAL, then the checkpoint). Replaying exactly these statements on a bare sqlite3 connection costs 300–500 µs of
  wall time per message with m003's indexes and 35–40 % less without them; timing the sender's steps, ≈ 45 % of
  its own time is these two commits (rendering and building ≈ 45 %, the rest queue reads and the suppression
  check). Fixes, in order of gain: (1) one commit per message — commit the previous message's `sent` in the same
  transaction as the next message's `sending` (the crash semantics stay exactly the same); (2) drop the
  per-message `UPDATE campaigns …` (derive first/last sent from `deliveries`, or write it once per batch); (3)
  keep the covering report indexes, but consider leaving `sent_at` out of `deliveries_reach`'s key if reach by
  period can live with a range scan.
- **Whole process vs mailmerge.** mailmerge opens a new SMTP connection per message and builds each with the email
  package, ≈ 90 messages/s. `outreach send` of 1,000 recipients pays its start-up (≈ 0.3 s with the database
  libraries), 45 variants (15 languages × 3 kinds in this audience, ≈ 1.8 s, above) and then the per-message costs
  above: ≈ 2 s fixed plus ≈ 2 s of messages, which puts it at 2–3× mailmerge. Caching built variants on disk
  (keyed by the content hashes the `campaigns` table already records, plus the layout and CSS) would remove most
  of it from every run after the first, and `--test-to` / `--dry-run` would share it.

### Memory — not met (grows ≈ 2.5 MB per 1,000 messages)

Peak RSS grows linearly with the number of messages sent. The cause is the per-line cache of `outreach/mail.py`
`_QuotedPrintable`: every message adds its personal lines (greeting, links: ≈ 3 new lines per message) and the
cache is capped at 20,000 lines *per `MessageFactory`*, i.e. per variant — with 30–45 variants the cap is
600,000–900,000 lines (0.4–0.65 GB), never reached in a 100,000-recipient campaign, so nothing is ever evicted.
Measured in-process: 10,000 messages → 31,000 cached lines (21 MB), 60,000 → 171,000 lines (123 MB). Fix: stop
inserting once the cache holds the variant's own lines (e.g. cap at 2,000 lines per factory and do not clear — the
static lines all arrive with the first message), or skip caching lines that contain a per-recipient value.
Recipients themselves are streamed: apart from this cache nothing in the send path grows with the audience (the
queue is enqueued and read in batches of 500).

### Import — met on an idle core, close to the limit under load

- **Windows-1250 files pay ≈ 2.6 s of CPU for encoding detection** whatever their size: `outreach/encodings.py`
  `detect_encoding` scores up to 20,000 accented tokens under each of 5–7 candidate code pages in pure Python
  (`score_text` → `score_token`, `_score_word`, `_languages_of`, `unicodedata.name` per character in `_script`): ≈
  70 % of a 10,000-row import, ≈ 35 % of a 100,000-row one. The score is a sum over tokens, so scoring each
  *distinct* token once, weighted by its count, gives the identical result (the generated file has 20,000 tokens
  but 69 distinct ones; real lists repeat cities, organisations and first names), and memoising `_script` per
  character removes most of the rest.
- **Re-importing (all duplicates) is slower than the first import**: for every existing contact `flush` builds a
  full `Contact.from_row`, which decodes five JSON columns (tags, topics, attributes, consent_detail,
  field_updated_at) — 36 % of the second import — plus a sqlite-utils dict per row (7 %). Selecting only the
  compared columns as tuples (`db.conn.execute`) and decoding JSON only for the fields the file fills would
  roughly halve it.

### Start-up and reports — met

`outreach --help` imports no database or rendering library. Commands that open the database pay `sqlite_utils`,
which imports numpy when it is installed (25–125 ms measured here); hiding numpy would need a `sys.modules` trick
in `outreach/db.py` and is probably not worth it. The reports are aggregated in SQL over the covering indexes; of
the whole `outreach report --by country,kind,language` process, about half is the SQL and the rest start-up and
rich laying out the 176-row table on stderr (`--format csv` is faster).
"""
