"""The contract a reader builds on: short texts come back now, from the engine the policy picks,
with placeholders intact; the same segment is never paid for twice; documents come back as jobs,
in their own format, from S3."""

from __future__ import annotations

import asyncio
import re

import polib
from redis.asyncio import Redis

from p07_translation.jobs import download, unique_sentences, upload, wait_done
from translation.engines import Apertium
from translation.memory import TranslationMemory
from translation.translator import Outcome, Translator


def test_a_text_is_split_translated_and_joined(client):
    answer = client.post("/v1/translate", json={"text": "Your password has expired. Please choose a new one."})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["source"] for s in body["segments"]] == ["Your password has expired.", "Please choose a new one."]
    assert body["translation"] == " ".join(s["translation"] for s in body["segments"])
    assert "contraseña" in body["segments"][0]["translation"]
    assert set(body["model_versions"]) == {"apertium", "neural"} and body["memory"] == "used"
    assert body["model_versions"]["neural"].startswith("gemma-3-270m-q8_0-")


def test_the_routing_policy_sends_short_strings_to_the_cheap_engine_and_prose_to_the_neural_one(client):
    segments = ["Save", "Restart the service after you change the configuration file on the server."]
    body = client.post("/v1/translate", json={"segments": segments}).json()
    assert [s["engine"] for s in body["segments"]] == ["apertium", "neural"], body
    assert body["engine_ms"].keys() == {"apertium", "neural"}


def test_a_named_engine_translates_every_segment(client):
    segments = unique_sentences(3)
    body = client.post("/v1/translate", json={"segments": segments, "engine": "apertium"}).json()
    assert {s["engine"] for s in body["segments"]} == {"apertium"} and body["cache_hits"] == 0


def test_the_same_segments_again_come_from_the_memory(client):
    segments = unique_sentences(2)
    first = client.post("/v1/translate", json={"segments": segments, "engine": "apertium"}).json()
    again = client.post("/v1/translate", json={"segments": [f"  {segments[0]}  ", segments[1]], "engine": "apertium"})
    body = again.json()
    assert body["cache_hits"] == 2 and all(s["cached"] for s in body["segments"])
    assert [s["translation"] for s in body["segments"]] == [s["translation"] for s in first["segments"]]
    assert "apertium" not in body["engine_ms"]  # no engine ran


def test_placeholders_markup_and_code_come_back_unchanged(client):
    segments = [
        "Welcome back, {name}! You have %d new messages.",
        "Click <b>here</b> to reset the password of %(user)s.",
        "Run `make up` and open https://example.org/docs to read more.",
    ]
    for engine in ("apertium", "neural"):
        body = client.post("/v1/translate", json={"segments": segments, "engine": engine}).json()
        for segment in body["segments"]:
            for token in re.findall(
                r"\{name\}|%d|<b>|</b>|%\(user\)s|`make up`|https://example\.org/docs", segment["source"]
            ):
                assert segment["translation"].count(token) == 1, (engine, segment)


def test_a_markdown_document_keeps_its_structure(client):
    text = (
        "# Getting started\n\nInstall the package. Then run the tests.\n\n"
        "```bash\nmake up\n```\n\n- Open the dashboard.\n- Check the logs.\n"
    )
    accepted = upload(client, text, "guide.md", engine="apertium")
    assert accepted["status"] == "queued" and accepted["segments_total"] == 5
    done = wait_done(client, accepted["id"])
    assert done["segments_done"] == done["segments_total"] == 5 and done["result"] == "guide.es.md"
    translated = download(done)
    assert translated.startswith("# ") and "```bash\nmake up\n```" in translated
    assert re.search(r"^- .+\n- .+$", translated, re.M) and "Install" not in translated


def test_an_html_document_keeps_its_tags_and_leaves_scripts_alone(client):
    page = (
        '<html><body><h1>Welcome</h1><p>Click <a href="/reset">here</a> to reset it.</p>'
        '<script>var s = "Save";</script></body></html>'
    )
    done = wait_done(client, upload(client, page, "page.html", engine="apertium")["id"])
    translated = download(done)
    assert re.findall(r"<[^>]+>", translated) == re.findall(r"<[^>]+>", page)
    assert '<script>var s = "Save";</script>' in translated and "Welcome" not in translated


def test_a_po_catalogue_gets_its_msgstr_and_plurals(client):
    catalogue = (
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Save changes"\nmsgstr ""\n\n'
        'msgid "%d file"\nmsgid_plural "%d files"\nmsgstr[0] ""\nmsgstr[1] ""\n\n'
        'msgid "Done"\nmsgstr "Hecho"\n'
    )
    done = wait_done(client, upload(client, catalogue, "app.po", engine="apertium")["id"])
    po = polib.pofile(download(done))
    entries = {e.msgid: e for e in po}
    assert po.metadata["Language"] == "es" and entries["Done"].msgstr == "Hecho"
    assert entries["Save changes"].msgstr and entries["Save changes"].msgstr != "Save changes"
    assert all("%d" in text for text in entries["%d file"].msgstr_plural.values())


def test_a_document_translated_again_pays_only_for_what_changed(client, stack):
    import redis

    from translation.jobs import ENGINE_SEGMENTS

    sentences = unique_sentences(6)
    first = wait_done(client, upload(client, " ".join(sentences), "notes.txt", engine="apertium")["id"])
    sentences[2] = "This sentence is new in the second version."
    edited = wait_done(client, upload(client, " ".join(sentences), "notes.txt", engine="apertium")["id"])
    sent = redis.Redis.from_url(stack.redis.url)
    assert int(sent.get(ENGINE_SEGMENTS + first["id"])) == 6
    assert int(sent.get(ENGINE_SEGMENTS + edited["id"])) == 1  # the five others came from the memory
    assert download(first).split(". ")[3:] == download(edited).split(". ")[3:]


# --8<-- [start:batch]
def test_a_batch_translates_each_segment_as_if_it_were_alone():
    """Segments in one Apertium run must not leak into each other (a single newline let its
    transfer rules move words across: the reason batches are separated by blank lines)."""
    segments = ["Apply discount code", "Shipping is free for members.", "Download the app", "Account deleted"]
    engine = Apertium()
    batched = asyncio.run(engine.translate(segments, "en-es"))
    alone = [asyncio.run(engine.translate([s], "en-es"))[0] for s in segments]
    assert batched == alone


# --8<-- [end:batch]


# --8<-- [start:new-version]
def test_a_new_model_version_never_reads_the_old_version_s_entries(stack):
    """The memory's key names the engine's version: new weights start with an empty memory."""

    async def twice() -> tuple[Outcome, Outcome, Outcome]:
        redis = Redis.from_url(stack.redis.url)
        engine = Apertium()
        translator = Translator({"apertium": engine}, TranslationMemory(redis, 60), "cheapest", 4, 16, 0.0)
        segments = unique_sentences(2)
        first = await translator.translate(segments, "en-es")
        again = await translator.translate(segments, "en-es")
        engine.version = "apertium-eng-spa-next"  # an upgraded language package
        upgraded = await translator.translate(segments, "en-es")
        await redis.aclose()
        return first, again, upgraded

    first, again, upgraded = asyncio.run(twice())
    assert [s.cached for s in first.segments] == [False, False] and first.engine_segments == 2
    assert [s.cached for s in again.segments] == [True, True] and again.engine_segments == 0
    assert [s.cached for s in upgraded.segments] == [False, False] and upgraded.engine_segments == 2


# --8<-- [end:new-version]


def test_health_and_metrics(client):
    assert client.get("/health/live").json() == {"status": "live"}
    assert client.get("/health/ready").json() == {"status": "ready"}

    def saved() -> float:
        return metric(client.get("/metrics").text, 'translation_memory_saved_characters_total{engine="apertium"}')

    before = saved()
    client.post("/v1/translate", json={"segments": ["Close the window"], "engine": "apertium"})
    client.post("/v1/translate", json={"segments": ["Close the window"], "engine": "apertium"})
    assert saved() - before >= len("Close the window")  # the second one came from the memory
    page = client.get("/metrics").text
    for name in ("translation_characters_total", "translation_memory_lookups_total", "translation_cost_dollars_total"):
        assert metric(page, f'{name}{{engine="apertium"') > 0


def metric(page: str, prefix: str) -> float:
    """The value of the first sample whose line starts with ``prefix`` (0 when there is none)."""
    return next((float(line.rsplit(" ", 1)[1]) for line in page.splitlines() if line.startswith(prefix)), 0.0)
