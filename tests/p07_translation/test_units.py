"""The pieces that need no server: placeholders, sentences, document formats, memory keys, routing."""

from __future__ import annotations

import polib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from translation.documents import UnsupportedDocument, read_document, split_sentences
from translation.memory import memory_key, normalise
from translation.placeholders import PlaceholderLost, protect, restore
from translation.routing import route


@pytest.mark.parametrize(
    "text, kept",
    [
        ("Hello {name}, you have {count:,} new messages.", ["{name}", "{count:,}"]),
        ("Showing %d of %(total)s results, %.1f%% done", ["%d", "%(total)s", "%.1f", "%%"]),
        ("Click <a href='/x'>here</a> &amp; `make up`", ["<a href='/x'>", "</a>", "&amp;", "`make up`"]),
        (
            "See [the docs](https://example.org/a) or https://example.org/b.",
            ["](https://example.org/a)", "https://example.org/b"],
        ),
        ("Hi {{ user.name }} and ${HOME}", ["{{ user.name }}", "${HOME}"]),
    ],
)
def test_protect_swaps_what_must_survive_for_numbered_tokens(text, kept):
    masked = protect(text)
    assert list(masked.originals) == kept
    assert "⟦0⟧" in masked.text and restore(masked.text, masked) == text


def test_a_percent_sign_in_prose_is_not_a_placeholder():
    assert protect("We are 100% sure it works.").originals == ()


def test_restore_refuses_a_lost_a_repeated_or_an_invented_token():
    masked = protect("Hello {name}, bye {name}")
    for broken in ("Hola ⟦0⟧, adiós", "Hola ⟦0⟧ ⟦0⟧, adiós", "Hola ⟦0⟧, adiós ⟦1⟧ ⟦2⟧"):
        with pytest.raises(PlaceholderLost):
            restore(broken, masked)
    assert restore("Adiós ⟦1⟧, hola ⟦0⟧", masked) == "Adiós {name}, hola {name}"  # reordering is fine


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_protect_then_restore_is_the_identity_for_any_text(text):
    masked = protect(text)
    assert restore(masked.text, masked) == text


def test_sentences_split_at_ends_but_not_at_abbreviations_or_decimals():
    text = "Install it, e.g. with pip. It takes 3.5 GB! Does it work? Yes."
    assert split_sentences(text) == ["Install it, e.g. with pip.", "It takes 3.5 GB!", "Does it work?", "Yes."]


def test_markdown_keeps_code_fences_markers_and_link_targets():
    doc = read_document("a.md", "## Title\n\n1. First step.\n\n```\nnot prose\n```\n| a | b |\n")
    assert doc.segments == ["Title", "First step."]
    assert (
        doc.render(["Título", "Primer paso."], "es")
        == "## Título\n\n1. Primer paso.\n\n```\nnot prose\n```\n| a | b |\n"
    )


def test_html_translates_block_text_with_inline_tags_and_skips_code():
    doc = read_document("a.html", "<p>Press <kbd>Enter</kbd>. Then wait.</p><pre>keep\nme</pre><style>p{}</style>")
    assert doc.segments == ["Press <kbd>Enter</kbd>.", "Then wait."]
    out = doc.render(["Pulsa <kbd>Intro</kbd>.", "Luego espera."], "es")
    assert out == "<p>Pulsa <kbd>Intro</kbd>. Luego espera.</p><pre>keep\nme</pre><style>p{}</style>"


def test_po_leaves_translated_and_obsolete_entries_alone():
    text = 'msgid "A"\nmsgstr ""\n\nmsgid "B"\nmsgstr "Be"\n\n#~ msgid "C"\n#~ msgstr ""\n'
    doc = read_document("m.po", text)
    assert doc.segments == ["A"]
    po = polib.pofile(doc.render(["Á"], "es"))
    assert {e.msgid: e.msgstr for e in po if not e.obsolete} == {"A": "Á", "B": "Be"}


def test_text_rendered_with_its_own_segments_comes_back_unchanged():
    text = "First line. Second one!\n\n\nA new paragraph.  \n"
    doc = read_document("a.txt", text)
    assert doc.render(doc.segments, "es") == text


def test_unknown_formats_are_refused():
    with pytest.raises(UnsupportedDocument):
        read_document("a.docx", "x")


def test_memory_keys_ignore_spacing_but_not_case_engine_or_version():
    base = memory_key("en-es", "neural", "v1", "Save  changes ")
    assert base == memory_key("en-es", "neural", "v1", " Save changes")
    others = [
        memory_key("en-es", "neural", "v2", "Save changes"),
        memory_key("en-es", "apertium", "v1", "Save changes"),
        memory_key("es-en", "neural", "v1", "Save changes"),
        memory_key("en-es", "neural", "v1", "save changes"),
    ]
    assert base not in others and len(set(others)) == 4
    assert normalise("Cafe\u0301") == normalise("Café")


def test_routing_policies():
    assert route("Save", "by_length", 4) == "apertium"
    assert route("Restart the service after the change.", "by_length", 4) == "neural"
    assert route("Restart the service after the change.", "cheapest", 4) == "apertium"
    assert route("Save", "neural", 4) == "neural"


def test_download_links_name_the_address_clients_reach_not_the_internal_one():
    from translation.settings import Settings
    from translation.storage import Storage

    settings = Settings(
        s3_endpoint_url="http://minio:9000",
        s3_public_endpoint_url="http://localhost:9000",
        s3_access_key="key",
        s3_secret_key="secret",
    )
    url = Storage(settings).download_url("jobs/1/result/a.es.md", "a.es.md")
    assert url.startswith("http://localhost:9000/translation/jobs/1/result/a.es.md?") and "X-Amz-Signature=" in url
    internal = Storage(settings.model_copy(update={"s3_public_endpoint_url": None}))
    assert internal.download_url("k", "a.md").startswith("http://minio:9000/")
