"""Migration 0009_sentence_queue_key stores the seeded order's key: existing sentences get the
key the queue used to compute from their ids, so their annotators' order does not change."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("annotation", "0008_claims")]
AFTER = [("annotation", "0009_sentence_queue_key")]
PRIME = 2_147_483_647


def former_key(project_id: int, sentence_id: int) -> int:
    """0008's seeded order, written out here from its definition."""
    first = (sentence_id * 1_103_515_245 + project_id * 7_919) % PRIME
    mixed = (first * first + project_id * 104_729) % PRIME
    return (mixed * 69_069 + 12_345) % PRIME


@pytest.mark.slow
def test_existing_sentences_keep_their_seeded_order(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    project = apps.get_model("annotation", "Project").objects.create(name="old")
    document = apps.get_model("annotation", "Document").objects.create(
        project=project, name="NCT1_inc", text="x" * 40)
    Sentence = apps.get_model("annotation", "Sentence")
    made = [Sentence.objects.create(project=project, document=document, index=i, start=i,
                                    end=i + 1, text="x").pk for i in range(12)]
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        Sentence = executor.loader.project_state(AFTER).apps.get_model("annotation", "Sentence")
        keys = dict(Sentence.objects.values_list("id", "queue_key"))
        assert keys == {pk: former_key(project.pk, pk) for pk in made}
        assert sorted(made, key=keys.get) != made
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
