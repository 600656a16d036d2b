"""The public Scorer: VADER, the complaint layer and a brand's lexicon, built once per process."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache

from monitor.models import Label, Score
from monitor.sentiment.engine import Engine, Hit
from monitor.sentiment.lexicon import ComplaintLexicon, load_complaints, normal
from monitor.sentiment.vader import Vader


@cache
def base_analyzer() -> Vader:
    """Loading VADER's lexicon takes ~0.1s, so the process builds it once."""
    return Vader()


Pairs = tuple[tuple[str, float], ...]


@lru_cache(maxsize=256)
def engine_for(complaints: bool, overrides: Pairs, complaint_phrases: Pairs = ()) -> Engine:
    """One engine per distinct (switch, overrides, brand phrases): a mention never rebuilds one.

    A brand's ``complaint_phrases`` join the default layer (and go with it when it is off); its
    ``lexicon`` overrides win over both.
    """
    defaults = load_complaints() if complaints else ComplaintLexicon({}, {}, {})
    added = dict(complaint_phrases) if complaints else {}
    words = {**defaults.words, **{k: v for k, v in added.items() if " " not in k}}
    words.update((k, v) for k, v in overrides if " " not in k)
    phrases = {**defaults.phrases, **{k: v for k, v in added.items() if " " in k}}
    brand_phrases = {k: v for k, v in overrides if " " in k}
    origins = dict.fromkeys([*defaults.words, *defaults.phrases], "complaints.yaml")
    origins.update(dict.fromkeys(added, "brand complaint_phrases"))
    origins.update((k, "brand lexicon") for k, _ in overrides)
    return Engine(
        base_analyzer(),
        words,
        phrases,
        brand_phrases,
        defaults.rules,
        origins,
        emoji=defaults.emoji,
        hashtag_words=defaults.hashtag_words,
        courtesy=defaults.courtesy,
        brand_words=frozenset(k for k, _ in overrides),
    )


def _pairs(valences: Mapping[str, float] | None) -> Pairs:
    return tuple(sorted((normal(k), float(v)) for k, v in (valences or {}).items()))


class Scorer:
    """Scores text for one brand: VADER, the complaint layer, and that brand's overrides.

    ``lexicon`` entries win over everything (multi-word keys are phrases); ``complaint_phrases``
    add the brand's own failure words and phrases ("out of stock": -2) to the complaint layer.
    """

    def __init__(
        self,
        lexicon: Mapping[str, float] | None = None,
        negative: float = -0.05,
        positive: float = 0.05,
        complaints: bool = True,
        complaint_phrases: Mapping[str, float] | None = None,
    ) -> None:
        if negative > positive:
            raise ValueError("the negative threshold must not be above the positive one")
        self.negative = negative
        self.positive = positive
        self._engine = engine_for(complaints, _pairs(lexicon), _pairs(complaint_phrases))

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def analyzer(self) -> Vader:
        return self._engine.analyzer

    def label(self, compound: float) -> Label:
        if compound <= self.negative:
            return "negative"
        if compound >= self.positive:
            return "positive"
        return "neutral"

    def score(self, text: str) -> Score:
        s = self._engine.polarity(text)
        return Score(
            compound=s["compound"],
            pos=s["pos"],
            neu=s["neu"],
            neg=s["neg"],
            label=self.label(s["compound"]),
        )

    def hits(self, text: str) -> list[Hit]:
        """Which complaint rules and phrases fired on the text: to explain a score."""
        return self._engine.hits(text)
