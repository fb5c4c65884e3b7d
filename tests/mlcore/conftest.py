"""Tiny examples and one tiny trained joint model shared by the mlcore tests."""
import pytest

from mlcore.corpus.model import SentenceExample, Span

TINY_ENCODER = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=160)


def make_example(text: str, entities: list[tuple[str, str]], relations=()) -> SentenceExample:
    """Spans from (surface text, type) pairs, located left to right."""
    spans, cursor = [], 0
    for surface, type_ in entities:
        start = text.index(surface, cursor)
        spans.append(Span(start, start + len(surface), type_))
        cursor = start + len(surface)
    return SentenceExample(text, spans, list(relations))


TINY_CORPUS = [
    make_example("Patients with diabetes over 18 years",
                 [("diabetes", "Condition"), ("over 18 years", "Value")]),
    make_example("No insulin for 6 months", [("insulin", "Drug"), ("6 months", "Temporal")],
                 [(0, 1, "Has_temporal")]),
    make_example("Hypertension treated with aspirin",
                 [("Hypertension", "Condition"), ("aspirin", "Drug")], [(1, 0, "Treats")]),
    make_example("Age over 65 years", [("Age", "Person"), ("over 65 years", "Value")],
                 [(0, 1, "Has_value")]),
]


@pytest.fixture(scope="session")
def tokenizer():
    from mlcore.encoders import load_tokenizer

    return load_tokenizer(None)


@pytest.fixture(scope="session")
def tiny_corpus():
    return list(TINY_CORPUS)


def tiny_options(**overrides):
    """Options that fit the tiny corpus perfectly in 40 steps on one CPU thread, with the
    paper's BIO layer (the span layer's own tests: ``test_span_layer.py``)."""
    from mlcore.trainer import TrainOptions

    values = dict(encoder_config=TINY_ENCODER, epochs=40, batch_size=4, lr=2e-3, head_lr=1e-2,
                  dropout=0.0, patience=100, device="cpu", precision="fp32", ner_hidden=64,
                  pair_dim=32, seed=3, num_threads=1, entity_layer="bio")
    values.update(overrides)
    return TrainOptions(**values)


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory):
    """A tiny joint (biaffine, gs) model fitted to the tiny corpus; no dev set (fast)."""
    from mlcore.trainer import train

    out = tmp_path_factory.mktemp("ckpt") / "joint"
    train(TINY_CORPUS, [], tiny_options(), out)
    return out
