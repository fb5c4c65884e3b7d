import os

import pytest
import torch

from mlcore.encoders import encoder_from_config, resolve_encoder, tiny_bert_config


def test_default_encoder_is_the_packaged_minilm():
    path = resolve_encoder(None)
    assert resolve_encoder("") == path
    assert os.path.exists(os.path.join(path, "config.json"))
    assert resolve_encoder("some/other-model") == "some/other-model"
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_tiny_random_encoder(tokenizer):
    encoder = encoder_from_config(tiny_bert_config(len(tokenizer)))
    ids = torch.tensor([tokenizer("no insulin")["input_ids"]])
    assert encoder(input_ids=ids).last_hidden_state.shape == (1, ids.shape[1], 32)


@pytest.mark.slow
def test_packaged_minilm_loads_offline_and_runs():
    from mlcore.encoders import load_pretrained_encoder, load_tokenizer

    tokenizer = load_tokenizer(None)
    encoder = load_pretrained_encoder(None).eval()
    batch = tokenizer(["No insulin for 6 months"], return_tensors="pt")
    with torch.inference_mode():
        hidden = encoder(**batch).last_hidden_state
    assert hidden.shape == (1, batch["input_ids"].shape[1], 384)
    assert torch.isfinite(hidden).all()
