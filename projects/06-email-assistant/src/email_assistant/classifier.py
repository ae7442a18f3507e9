"""The triage step's model: TF-IDF features and logistic regression, one for the category and one
for the urgency, trained on the labelled emails in evaluation/emails.yaml (never on the held-out
set). On the held-out set it beats the small LLM by far (see the project's page): the right model
for a step is the one that measures best on it, not the biggest one.

    python -m email_assistant.classifier evaluation/emails.yaml triage.joblib
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline


def load_examples(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text())


def features(subject: str, body: str) -> str:
    return f"{subject}\n{body}"


# --8<-- [start:train]
def train(examples: list[dict[str, Any]]) -> dict[str, Pipeline]:
    texts = [features(e["subject"], e["body"]) for e in examples]
    models = {}
    for label in ("category", "urgency"):
        model = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            LogisticRegression(C=10, max_iter=2000),
        )
        models[label] = model.fit(texts, [e["labels"][label] for e in examples])
    return models


# --8<-- [end:train]


@dataclass(frozen=True)
class Triage:
    category: str
    urgency: str
    confidence: float  # the category's probability


class TriageModel:
    name = "tfidf-logreg"

    def __init__(self, models: dict[str, Pipeline]):
        self.models = models

    @classmethod
    def load(cls, path: Path) -> TriageModel:
        return cls(joblib.load(path))

    def predict(self, subject: str, body: str) -> Triage:
        text = [features(subject, body)]
        category = self.models["category"]
        probabilities = category.predict_proba(text)[0]
        best = int(probabilities.argmax())
        return Triage(
            category=str(category.classes_[best]),
            urgency=str(self.models["urgency"].predict(text)[0]),
            confidence=round(float(probabilities[best]), 3),
        )


def main(examples: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(train(load_examples(examples)), out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
