"""Fixtures for the active-learning loop tests: a small synthetic project and a tiny model.

The sentences follow two rigid patterns, so a tiny random BERT learns them in a few
epochs and its suggestions are predictable enough to test accept/reject on.
"""
import pytest

from annotation.models import Document, Entity, EntityType, Relation, RelationType, Sentence, SentenceStatus

CONDITIONS = ["diabetes", "asthma", "cancer", "hepatitis", "epilepsy", "anemia", "gout", "lupus"]
DRUGS = ["insulin", "aspirin", "warfarin", "heparin", "metformin", "statins"]

# a random 1-layer BERT (the packaged MiniLM tokenizer); heads and encoder at a high rate
TINY_OPTIONS = {
    "encoder_config": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "intermediate_size": 64, "max_position_embeddings": 64},
    "epochs": 12, "batch_size": 8, "lr": 5e-3, "patience": 100, "num_threads": 1, "min_steps": 40,
    "dev_fraction": 0.25, "auto_activate": True,
}


def _sentence_texts(doc_index: int, count: int) -> list[str]:
    texts = []
    for i in range(count):
        k = doc_index * count + i
        if k % 2 == 0:
            texts.append(f"No history of {CONDITIONS[k % len(CONDITIONS)]} .")
        else:
            texts.append(f"Patients taking {DRUGS[k % len(DRUGS)]} are excluded .")
    return texts


def _annotate(document, sentence, text, types):
    """Gold: 'No' = Negation, the condition = Condition (negated by 'No'), the drug = Drug."""
    def entity(word, type_name):
        start = sentence.start + text.index(word)
        return Entity.objects.create(
            document=document, sentence=sentence, type=types[type_name],
            fragments=[[start, start + len(word)]], start=start, end=start + len(word),
        )

    words = text.split()
    if words[0] == "No":
        negation, condition = entity("No", "Negation"), entity(words[3], "Condition")
        Relation.objects.create(document=document, sentence=sentence, type=types["is negated"],
                                head=condition, tail=negation)
    else:
        entity(words[2], "Drug")


def make_document(project, name: str, texts: list[str], status: str, annotate: bool):
    types = {t.name: t for t in EntityType.objects.filter(project=project)}
    types.update({t.name: t for t in RelationType.objects.filter(project=project)})
    document = Document.objects.create(project=project, name=name, text="\n".join(texts))
    offset = 0
    for index, text in enumerate(texts):
        sentence = Sentence.objects.create(
            project=project, document=document, index=index, start=offset,
            end=offset + len(text), text=text, status=status,
        )
        if annotate:
            _annotate(document, sentence, text, types)
        offset += len(text) + 1
    return document


def build_ml_project(project, done_documents: int = 4, per_document: int = 8, new_sentences: int = 10):
    """``done_documents`` fully annotated documents plus one document of new sentences."""
    for d in range(done_documents):
        make_document(project, f"doc-{d}", _sentence_texts(d, per_document), SentenceStatus.DONE, True)
    make_document(project, "new", _sentence_texts(done_documents, new_sentences), SentenceStatus.NEW, False)
    project.model_options = dict(TINY_OPTIONS)
    project.save(update_fields=["model_options"])
    return project


@pytest.fixture
def ml_project(project):
    """The shared ``project`` (schema Condition/Drug/Negation, 'is negated') with data."""
    return build_ml_project(project)


def make_version(project, number: int = 1, active: bool = True, **fields):
    from annotation.models import ModelVersion

    return ModelVersion.objects.create(project=project, number=number, is_active=active,
                                       checkpoint_dir=f"/unused/v{number}", **fields)


def suggest(version, sentence, word: str, type_name: str, probability: float = 0.8):
    """An entity suggestion on the first occurrence of ``word`` in ``sentence``."""
    from annotation.models import PredictedEntity

    start = sentence.start + sentence.text.index(word)
    return PredictedEntity.objects.create(
        model_version=version, sentence=sentence, type=version.project.entity_types.get(name=type_name),
        fragments=[[start, start + len(word)]], start=start, end=start + len(word),
        probability=probability,
    )


def suggest_relation(head, tail, type_name: str = "is negated", probability: float = 0.7):
    from annotation.models import PredictedRelation

    return PredictedRelation.objects.create(
        model_version=head.model_version, sentence=head.sentence, head=head, tail=tail,
        type=head.model_version.project.relation_types.get(name=type_name), probability=probability,
    )


@pytest.fixture
def early_stopping(monkeypatch):
    """The real trainer, made to stop early: nothing learns (rates 0), patience 1, 6 epochs and
    no minimum number of steps, so it ends after epoch 2 of 6 (epoch 1 is the best, epoch 2
    does not beat it)."""
    from dataclasses import replace

    from mlcore import trainer

    real_train = trainer.train

    def train(train_examples, dev_examples, options, out_dir, progress=None):
        options = replace(options, lr=0.0, head_lr=0.0, patience=1, epochs=6, min_steps=0)
        return real_train(train_examples, dev_examples, options, out_dir, progress)

    monkeypatch.setattr(trainer, "train", train)
