"""A tiny trial document for annotation tests (HTTP and browser): written here, not Chia."""
from annotation.models import Document, Sentence

CRITERIA = [
    "Inclusion criteria:",
    "Adults with type 2 diabetes treated with metformin for at least 3 months.",
    "No history of heart failure or severe renal impairment.",
    "HbA1c between 7% and 10% at screening.",
]


def make_document(project, name: str = "NCT00000001_inc", criteria=CRITERIA) -> Document:
    """A document whose sentences are ``criteria`` joined by newlines."""
    text = "\n".join(criteria)
    document = Document.objects.create(project=project, name=name, text=text)
    offset, rows = 0, []
    for index, sentence in enumerate(criteria):
        rows.append(Sentence(project=project, document=document, index=index, start=offset,
                             end=offset + len(sentence), text=sentence))
        offset += len(sentence) + 1
    Sentence.objects.bulk_create(rows)
    return document


def span(sentence: Sentence, words: str) -> list[int]:
    """Document offsets ``[start, end]`` of the first occurrence of ``words`` in ``sentence``."""
    local = sentence.text.index(words)
    return [sentence.start + local, sentence.start + local + len(words)]
