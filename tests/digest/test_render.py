"""The weekly digest as people read it: figures as shown, escaping, empty weeks, Slack, the PNG."""

from __future__ import annotations

import json
import re
import struct
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from monitor.digest.chart import render_chart
from monitor.digest.figures import compound, percent, week_label
from monitor.digest.view import digest_view
from monitor.models import (
    Digest,
    DigestAuthor,
    DigestChannel,
    DigestDay,
    DigestIncident,
    DigestTopic,
)
from monitor.notify.email import render_html, render_text
from monitor.notify.preview import write_preview
from monitor.notify.slack import (
    FIELD_LIMIT,
    HEADER_LIMIT,
    MAX_BLOCKS,
    MAX_FIELDS,
    SECTION_LIMIT,
    slack_message,
)
from monitor.outbox_payload import decode, encode
from tests.helpers import (
    PNG_SIGNATURE,
    START,
    digest_mention,
    empty_digest,
    make_digest,
    sentiment,
    slack_texts,
)

# Slack's link syntax and nothing else may start with `<` in what we send.
LINK = re.compile(r"<https?://[^|<>\s]+\|[^|<>]+>")


def png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


# -- wording and figures ------------------------------------------------------------------------


def test_week_label_names_the_iso_week_its_dates_and_the_zone() -> None:
    assert week_label(make_digest()) == "Week 47, 16–22 Nov 2026 (Europe/London)"


def test_week_label_spans_months_and_years() -> None:
    assert (
        week_label(make_digest(week="2026-W49")) == "Week 49, 30 Nov – 6 Dec 2026 (Europe/London)"
    )
    assert week_label(make_digest(week="2026-W53")) == (
        "Week 53, 28 Dec 2026 – 3 Jan 2027 (Europe/London)"
    )


def test_negative_share_change_is_in_percentage_points() -> None:
    d = make_digest()  # 40% negative this week, 50% the week before
    negative = next(k for k in digest_view(d).kpis if k.label == "Negative")
    assert (negative.value, negative.previous, negative.change.text) == ("40%", "50%", "-10 points")
    assert negative.change.tone == "good"
    assert "-10 points" in render_html(d)
    assert re.search(r"Negative\s+40%\s+50%\s+-10 points", render_text(d))


def test_volume_change_is_a_percentage_of_last_week() -> None:
    d = make_digest()  # 100 mentions against 80
    mentions = digest_view(d).kpis[0]
    assert (mentions.value, mentions.previous, mentions.change.text) == ("100", "80", "+25%")
    assert "100 mentions, up 25% on the week before (80)" in render_text(d)


def test_share_change_is_the_difference_of_the_shares_as_shown() -> None:
    # 1 of 3 shows as 33% and 1 of 6 as 17%: the change reads +16 points, not the raw +16.7.
    d = make_digest(week_total=sentiment(1, 2, 0, -0.1), previous_total=sentiment(1, 5, 0, 0.0))
    negative = next(k for k in digest_view(d).kpis if k.label == "Negative")
    assert (negative.value, negative.previous, negative.change.text) == ("33%", "17%", "+16 points")


def test_mean_compound_change_is_the_difference_of_the_means_as_shown() -> None:
    # +0.125 shows as +0.13 (half up) and +0.114 as +0.11: the change reads +0.02.
    d = make_digest(week_total=sentiment(1, 1, 1, 0.125), previous_total=sentiment(1, 1, 1, 0.114))
    mean = digest_view(d).kpis[-1]
    assert (mean.value, mean.previous, mean.change.text, mean.change.tone) == (
        "+0.13",
        "+0.11",
        "+0.02",
        "good",
    )


def test_no_change_is_shown_without_a_sign() -> None:
    same = make_digest(previous_total=make_digest().week_total)
    assert [k.change.text for k in digest_view(same).kpis] == [
        "0%",
        "0 points",
        "0 points",
        "0 points",
        "0.00",
    ]


def test_a_share_too_small_to_round_up_is_shown_as_under_one_percent() -> None:
    assert (percent(3, 1000), percent(997, 1000), percent(0, 1000)) == ("<1%", ">99%", "0%")


def test_a_mean_that_rounds_to_zero_is_shown_unsigned() -> None:
    assert (compound(-0.001), compound(0.004), compound(None)) == ("0.00", "0.00", "–")


def test_topics_show_how_their_negativity_moved() -> None:
    text = render_text(make_digest())  # billing 60% negative, 45% the week before
    assert re.search(r"billing\s+20\s+60%\s+45%\s+\+15 points", text)
    assert re.search(r"pricing\s+10\s+20%\s+–\s+n/a", text)


def test_resolved_incident_shows_peak_duration_and_when_it_resolved() -> None:
    text = render_text(make_digest())
    assert "Acme / topic billing (critical), peak 12.5× expected" in text
    assert "2 h 15 min, resolved Tue 17 Nov 11:15 GMT" in text


def test_an_incident_still_open_says_so_with_its_duration_until_the_week_ended() -> None:
    opened = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)  # Saturday 18:00, 30 h before week end
    incident = DigestIncident(8, "Acme", "warning", opened, None, 3.2, 9)
    rows = digest_view(make_digest(incidents=(incident,))).incidents
    assert (rows[0].duration, rows[0].status, rows[0].open) == (
        "1 d 6 h so far",
        "still open",
        True,
    )


def test_a_week_still_in_progress_says_so_and_leaves_days_to_come_blank() -> None:
    midweek = make_digest(generated_at=datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    v = digest_view(midweek)
    assert v.notice is not None and "Wed 18 Nov 12:00 GMT" in v.notice
    assert [r.future for r in v.days] == [False] * 3 + [True] * 4
    assert re.search(r"Thu 19 Nov\s+not yet\n", render_text(midweek))
    assert digest_view(make_digest()).notice is None  # generated after the week ended


def test_mention_times_are_shown_in_the_teams_timezone() -> None:
    late = digest_mention(created_at=datetime(2026, 11, 17, 23, 30, tzinfo=UTC))
    d = make_digest(timezone="America/New_York", most_negative=(late,))
    assert digest_view(d).negative[0].when == "Tue 17 Nov 18:30 EST"


def test_long_mention_text_is_cut_to_about_280_characters() -> None:
    d = make_digest(most_negative=(digest_mention(text="terrible " * 1000),))
    shown = digest_view(d).negative[0].text
    assert len(shown) <= 280 and shown.endswith("…")


def test_several_brands_are_named_in_the_title_and_on_each_mention() -> None:
    d = make_digest(brands=("Acme", "Globex", "Initech", "Umbrella"))
    v = digest_view(d)
    assert v.title == "Weekly sentiment digest: Acme, Globex and 2 more brands"
    assert v.negative[0].brand == "Acme"
    assert digest_view(make_digest()).negative[0].brand == ""  # one brand: no need to say


# -- HTML ---------------------------------------------------------------------------------------


def test_script_in_a_mention_stays_escaped_text_in_html() -> None:
    hostile = digest_mention(
        author='<img src=x onerror="alert(1)">',
        text="<script>alert('pwned')</script> & <!channel>",
    )
    html = render_html(make_digest(most_negative=(hostile,)))
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &lt;!channel&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "<script" not in html.lower() and "<img src=x" not in html


def test_only_http_links_become_hrefs_in_html() -> None:
    d = make_digest(
        most_negative=(
            digest_mention(0, url="javascript:alert(1)"),
            digest_mention(1, url="https://example.com/a?b=1&c=2"),
        )
    )
    html = render_html(d)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == [
        "https://example.com/a?b=1&amp;c=2",
        *[f"https://news.ycombinator.com/item?id={1010 + i}" for i in range(5)],
    ]


def test_html_loads_nothing_from_outside() -> None:
    html = render_html(make_digest(), chart_src="cid:chart@monitor")
    assert re.findall(r'src="([^"]*)"', html) == ["cid:chart@monitor"]
    # A <style> block may hold the phone media query; it loads nothing (no @import, no url()).
    assert not re.search(r"<link|@import|url\(|<script", html, re.IGNORECASE)


def test_html_is_a_table_layout_at_most_640_px_wide() -> None:
    html = render_html(make_digest())
    assert 'width="640"' in html and "max-width:640px" in html
    assert '<div style="display:flex' not in html and "grid" not in html


def test_empty_week_html_says_no_mentions_and_shows_no_chart() -> None:
    html = render_html(empty_digest())
    assert "No mentions this week (the week before: 80)." in html
    assert "<img" not in html and "Day by day" not in html
    assert "No incidents this week." in html


# -- text ---------------------------------------------------------------------------------------


def test_empty_week_text_says_no_mentions_and_has_no_tables() -> None:
    text = render_text(empty_digest())
    assert "No mentions this week (the week before: 80)." in text
    assert "Day by day" not in text and "Most negative mentions" not in text


def test_text_lines_fit_a_mail_reader_except_links() -> None:
    text = render_text(make_digest())
    long = [line for line in text.splitlines() if len(line) > 80 and "https://" not in line]
    assert long == []


def test_text_keeps_a_script_as_plain_characters() -> None:
    text = render_text(make_digest(most_negative=(digest_mention(text="<b>bold</b> & co"),)))
    assert "<b>bold</b> & co" in text


# -- chart --------------------------------------------------------------------------------------


def test_chart_is_a_png_readable_at_600_px() -> None:
    png = render_chart(make_digest())
    assert png.startswith(PNG_SIGNATURE)
    width, height = png_size(png)
    assert 600 <= width <= 1400 and 250 <= height <= 800
    assert 5_000 < len(png) < 200_000


def test_chart_of_an_empty_week_is_a_small_png() -> None:
    png = render_chart(empty_digest())
    assert png.startswith(PNG_SIGNATURE)
    width, height = png_size(png)
    assert height < 300 and width >= 600


def test_chart_bytes_are_the_same_for_the_same_digest() -> None:
    assert render_chart(make_digest()) == render_chart(make_digest())


# -- Slack --------------------------------------------------------------------------------------


def huge_week() -> Digest:
    """100k mentions, every list long and every stranger's string at its worst."""
    big = sentiment(40_000, 35_000, 25_000, -0.12)
    before = sentiment(30_000, 40_000, 30_000, 0.01)
    hostile = "<!channel> <@U123> <http://evil.example|click> & " + "x" * 10_000
    return make_digest(
        brands=tuple(f"Brand{i:03d}" for i in range(40)),
        channels=tuple(f"channel-{i}" for i in range(30)),
        week_total=big,
        previous_total=before,
        days=tuple(
            DigestDay(date(2026, 11, 16) + timedelta(days=i), sentiment(5714, 5000, 3571, -0.1))
            for i in range(7)
        ),
        by_channel=tuple(DigestChannel(f"channel-{i}" * 5, big, before) for i in range(30)),
        by_topic=tuple(DigestTopic(f"topic {i} " + "t" * 50, big, before) for i in range(200)),
        most_negative=tuple(
            digest_mention(i, author=hostile, text=hostile, url="https://e.example/" + "a" * 1900)
            for i in range(5)
        ),
        most_positive=tuple(digest_mention(10 + i, text=hostile, compound=0.9) for i in range(5)),
        incidents=tuple(
            DigestIncident(
                i,
                f"Brand{i:03d} / topic " + "o" * 90,
                "critical",
                START,
                None,
                1e6,
                1e5,
            )
            for i in range(300)
        ),
        authors=tuple(DigestAuthor(hostile, "reddit", 5000 - i, -0.5) for i in range(5)),
    )


def test_slack_blocks_stay_within_limits_for_a_week_of_100k_mentions() -> None:
    payload = slack_message(huge_week())
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert len(payload["text"]) <= SECTION_LIMIT
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_LIMIT
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_LIMIT
        if "fields" in block:
            assert len(block["fields"]) <= MAX_FIELDS
            assert all(len(f["text"]) <= FIELD_LIMIT for f in block["fields"])
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= SECTION_LIMIT for e in block["elements"])
    assert "100,000" in json.dumps(payload)


def test_slack_long_lists_end_with_how_many_were_left_out() -> None:
    sections = [b["text"]["text"] for b in slack_message(huge_week())["blocks"] if "text" in b]
    incidents = next(t for t in sections if t.startswith("*Incidents*"))
    assert re.search(r"\n…and \d+ more$", incidents)


def test_slack_mention_text_cannot_ping_or_link() -> None:
    for text in slack_texts(slack_message(huge_week())):
        assert "<!channel>" not in text and "<@U123>" not in text
        assert "<" not in LINK.sub("", text), text


def test_slack_message_has_a_text_fallback_with_the_headline() -> None:
    payload = slack_message(make_digest())
    assert payload["text"].startswith("Weekly sentiment digest: Acme, week 47 (2026). 100 mentions")
    assert payload["unfurl_links"] is False and payload["unfurl_media"] is False


def test_slack_shows_share_changes_in_percentage_points() -> None:
    fields = next(b for b in slack_message(make_digest())["blocks"] if "fields" in b)["fields"]
    assert "*Negative*\n40%  (-10 points vs 50%)" in [f["text"] for f in fields]


def test_empty_week_slack_says_no_mentions() -> None:
    payload = slack_message(empty_digest())
    texts = slack_texts(payload)
    assert "No mentions this week (the week before: 80)." in payload["text"]
    assert not [b for b in payload["blocks"] if "fields" in b]
    assert not any("Most negative" in t for t in texts)


# -- preview and round trip ---------------------------------------------------------------------


def test_write_preview_writes_html_text_chart_and_slack_json(tmp_path: Path) -> None:
    paths = write_preview(make_digest(), tmp_path / "preview")
    assert [p.name for p in paths] == ["digest.html", "digest.txt", "chart.png", "slack.json"]
    html = (tmp_path / "preview" / "digest.html").read_text(encoding="utf-8")
    assert re.findall(r'src="([^"]*)"', html) == ["chart.png"]
    assert (tmp_path / "preview" / "chart.png").read_bytes().startswith(PNG_SIGNATURE)
    assert json.loads((tmp_path / "preview" / "slack.json").read_text())["blocks"]


def test_preview_of_an_empty_week_has_no_chart(tmp_path: Path) -> None:
    paths = write_preview(empty_digest(), tmp_path)
    assert [p.name for p in paths] == ["digest.html", "digest.txt", "slack.json"]


def test_digest_renders_the_same_after_the_outbox_json_round_trip() -> None:
    d = make_digest()
    again = decode(Digest, encode(d))
    assert render_html(again) == render_html(d)
    assert render_text(again) == render_text(d)


def test_a_week_still_in_progress_says_so_in_its_title_and_names_the_comparison() -> None:
    v = digest_view(make_digest(generated_at=datetime(2026, 11, 18, 12, 0, tzinfo=UTC)))
    assert v.title == "Weekly sentiment digest (week so far): Acme"
    assert v.subject.startswith("Weekly sentiment digest (week so far): Acme, week 47")
    assert v.notice is not None and "same part of the week before" in v.notice
    assert "Wed 11 Nov 12:00 GMT" in v.notice
    assert digest_view(make_digest()).title == "Weekly sentiment digest: Acme"


def test_the_digest_speaks_plainly_with_a_one_line_legend() -> None:
    d = make_digest()
    slack = "\n".join(slack_texts(slack_message(d)))
    for rendered in (render_text(d), render_html(d), slack):
        shown = " ".join(rendered.split())  # the text version wraps the legend
        assert "compound" not in shown.lower() and " pp" not in shown
        assert "Mood score: from -1 (most negative) to +1 (most positive)" in shown
        assert "percentage points" in shown
    assert "-10 points" in render_text(d) and "-0.04" in render_text(d)  # the exact figures stay


PHONE_COLUMNS = 4  # what fits a 360 px screen beside a name column


class Tables(HTMLParser):
    """Each data table's header row: its columns, and which give way on a phone ("wide")."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[list[bool]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.headers.append([])
        elif tag == "th":
            self.headers[-1].append("wide" in (dict(attrs).get("class") or "").split())
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def test_every_table_fits_a_phone_screen() -> None:
    incident = DigestIncident(
        1, "Acme", "critical", START + timedelta(hours=3), None, peak_ratio=9.0, peak_count=30
    )
    parser = Tables()
    parser.feed(render_html(make_digest(incidents=(incident,))))
    css = re.sub(r"\s+", " ", " ".join(parser.styles))
    assert re.search(
        r"@media only screen and \(max-width: 480px\) \{ \.wide \{ display: none !important; \}",
        css,
    )
    headers = [row for row in parser.headers if row]
    assert len(headers) >= 5  # days, channels, topics, incidents, authors
    too_wide = [row for row in headers if sum(not wide for wide in row) > PHONE_COLUMNS]
    assert too_wide == []


def test_a_partly_monitored_week_says_so_in_every_medium() -> None:
    note = "Partial week: monitoring of Acme on reddit started after 2026-W47 began."
    d = make_digest(coverage_note=note)
    assert note in " ".join(render_text(d).split())
    assert note in " ".join(render_html(d).split())
    assert any(note in text for text in slack_texts(slack_message(d)))


def test_the_incidents_table_says_what_each_spike_was_about() -> None:
    opened = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    incident = DigestIncident(8, "Acme", "warning", opened, None, 3.2, 9, ("outage", "login <b>"))
    d = make_digest(incidents=(incident,))
    assert digest_view(d).incidents[0].drivers == "outage, login <b>"
    assert "about: outage, login <b>" in render_text(d)
    assert "about: outage, login &lt;b&gt;" in render_html(d)
    assert "about: outage, login &lt;b&gt;" in json.dumps(slack_message(d))
