"""One path for every translation, short request or document batch: protect placeholders, pick an
engine, look the segment up in the memory, translate the misses in batches grouped by length,
check the placeholders came back (else the cheap engine translates it: a flagged fallback), and
remember the result."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis

from translation import metrics
from translation.engines import Apertium, Engine, EngineUnavailable, NeuralLLM
from translation.memory import MemoryUnavailable, TranslationMemory, memory_key, normalise
from translation.placeholders import Masked, PlaceholderLost, protect, restore
from translation.routing import Policy, route
from translation.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Segment:
    source: str
    engine: str = ""  # the engine that produced the translation
    text: str = ""
    cached: bool = False
    fallback: bool = False  # the chosen engine failed on it; the cheap engine translated it


@dataclass
class Outcome:
    segments: list[Segment]
    memory: str = "used"  # "used", or "unavailable" when Redis could not be reached
    engine_seconds: dict[str, float] = field(default_factory=dict)
    engine_segments: int = 0  # segments an engine translated (not answered from the memory)


# Called with the segments about to be sent to an engine (a job counts them: no segment twice).
BeforeEngine = Callable[[int], Awaitable[None]]


class Translator:
    def __init__(
        self,
        engines: dict[str, Engine],
        memory: TranslationMemory,
        policy: Policy,
        short_segment_words: int,
        batch_size: int,
        price_per_hour: float,
    ):
        self.engines, self.memory = engines, memory
        self.policy, self.short_segment_words, self.batch_size = policy, short_segment_words, batch_size
        self.price_per_second = price_per_hour / 3600

    async def translate(
        self, sources: list[str], pair: str, engine: str | None = None, before_engine: BeforeEngine | None = None
    ) -> Outcome:
        segments = [Segment(s) for s in sources]
        outcome = Outcome(segments)
        work: dict[tuple[str, str], list[Segment]] = {}  # (engine, normalised source) -> its segments
        for segment in segments:
            if not segment.source.strip():
                segment.text, segment.engine = segment.source, "none"
                continue
            chosen = engine or route(segment.source, self.policy, self.short_segment_words)
            work.setdefault((chosen, normalise(segment.source)), []).append(segment)

        keys = {item: memory_key(pair, item[0], self.engines[item[0]].version, item[1]) for item in work}
        try:
            found = dict(zip(keys, await self.memory.get_many(list(keys.values())), strict=True))
        except MemoryUnavailable as exc:
            log.warning("translation memory unavailable, translating without it: %s", exc)
            outcome.memory, found = "unavailable", {}
        misses: dict[str, list[tuple[str, str]]] = {}
        for (chosen, source), same in work.items():
            hit = found.get((chosen, source))
            metrics.MEMORY.labels(chosen, "hit" if hit is not None else "miss").inc(len(same))
            if hit is not None:
                metrics.SAVED_CHARACTERS.labels(chosen).inc(sum(len(s.source) for s in same))
                for segment in same:
                    segment.text, segment.engine, segment.cached = hit, chosen, True
            else:
                misses.setdefault(chosen, []).append((chosen, source))

        learned: dict[str, str] = {}
        for chosen, items in misses.items():
            sources_to_do = [source for _, source in items]
            results = await self._run(chosen, sources_to_do, pair, outcome, before_engine)
            for item, (text, produced_by, fell_back) in zip(items, results, strict=True):
                for segment in work[item]:
                    segment.text, segment.engine, segment.fallback = text, produced_by, fell_back
                if not fell_back:
                    learned[keys[item]] = text
        if outcome.memory == "used":
            try:
                await self.memory.put_many(learned)
            except MemoryUnavailable as exc:
                log.warning("translation memory unavailable, results not remembered: %s", exc)
                outcome.memory = "unavailable"
        return outcome

    # --8<-- [start:batches]
    async def _run(
        self, name: str, sources: list[str], pair: str, outcome: Outcome, before_engine: BeforeEngine | None
    ) -> list[tuple[str, str, bool]]:
        """Translate with engine ``name`` in batches of similar length (a batch waits for its
        longest segment), restoring placeholders. The rule-based engine takes over, flagged as a
        fallback, a batch whose neural server is down and a segment whose placeholders it lost."""
        masked = [protect(s) for s in sources]
        order = sorted(range(len(sources)), key=lambda i: len(masked[i].text))
        results: list[tuple[str, str, bool]] = [("", name, False)] * len(sources)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            try:
                texts = await self._engine_call(name, [masked[i] for i in batch], pair, outcome, before_engine)
            except EngineUnavailable as exc:
                if name == "apertium":
                    raise
                log.warning("%s unavailable, the rule-based engine takes the batch: %s", name, exc)
                metrics.FALLBACKS.labels(name, "unavailable").inc(len(batch))
                texts = await self._engine_call("apertium", [masked[i] for i in batch], pair, outcome, before_engine)
                for i, text in zip(batch, texts, strict=True):
                    results[i] = self._restored("apertium", text, masked[i], sources[i], fallback=True)
                continue
            for i, text in zip(batch, texts, strict=True):
                results[i] = self._restored(name, text, masked[i], sources[i], fallback=False)
                if name != "apertium" and results[i][1] == "none":  # the LLM lost a placeholder
                    again = await self._engine_call("apertium", [masked[i]], pair, outcome, before_engine)
                    results[i] = self._restored("apertium", again[0], masked[i], sources[i], fallback=True)
        return results

    @staticmethod
    def _restored(name: str, text: str, masked: Masked, source: str, fallback: bool) -> tuple[str, str, bool]:
        """(translation, engine, fallback); the source itself, engine "none", when placeholders
        were lost: an untranslated segment is better than a broken one."""
        try:
            return restore(text, masked), name, fallback
        except PlaceholderLost:
            metrics.FALLBACKS.labels(name, "placeholders").inc()
            return source, "none", True

    # --8<-- [end:batches]

    async def _engine_call(
        self, name: str, batch: list[Masked], pair: str, outcome: Outcome, before_engine: BeforeEngine | None
    ) -> list[str]:
        if before_engine is not None:
            await before_engine(len(batch))
        started = time.perf_counter()
        texts = await self.engines[name].translate([m.text for m in batch], pair)
        seconds = time.perf_counter() - started
        outcome.engine_seconds[name] = outcome.engine_seconds.get(name, 0.0) + seconds
        outcome.engine_segments += len(batch)
        metrics.ENGINE_SECONDS.labels(name).inc(seconds)
        metrics.COST.labels(name).inc(seconds * self.price_per_second)
        metrics.CHARACTERS.labels(name).inc(sum(len(m.text) for m in batch))
        metrics.BATCH_SIZE.labels(name).observe(len(batch))
        metrics.SEGMENT_SECONDS.labels(name).observe(seconds / len(batch))
        return texts


def build_translator(settings: Settings, redis: Redis) -> Translator:
    """The engines and the memory the settings name; the API and the workers build the same one."""
    engines: dict[str, Engine] = {
        "apertium": Apertium(settings.apertium_command),
        "neural": NeuralLLM(
            settings.llm_base_url, settings.llm_model, settings.llm_model_version, settings.llm_timeout_s
        ),
    }
    return Translator(
        engines,
        TranslationMemory(redis, settings.memory_ttl_s),
        settings.routing_policy,
        settings.short_segment_words,
        settings.batch_size,
        settings.price_per_hour,
    )
