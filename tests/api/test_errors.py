"""Error bodies found by black-box probing: every refusal says what and why, with its code."""
import pytest

from annotation.models import Project


def test_a_role_too_low_is_403_permission_denied_with_the_role_it_needs(seeded, users, api_for):
    response = api_for(users["annotator"]).patch(
        f"/api/projects/trial/documents/{seeded['document']}/", {"name": "renamed"}, format="json")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "permission_denied"
    assert "manager" in error["message"]


def test_a_project_you_are_not_in_is_404_not_found_with_a_message(seeded, users, api_for):
    response = api_for(users["outsider"]).get("/api/projects/trial/documents/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("options, wrong", [
    ({"epochs": 10**30}, "epochs"), ({"epochs": 1.5}, "epochs"), ({"epochs": "3"}, "epochs"),
    ({"epochs": [1]}, "epochs"), ({"epochs": None}, "epochs"), ({"batch_size": True}, "batch_size"),
    ({"lr": "abc"}, "lr"), ({"lr": 0}, "lr"), ({"dev_fraction": None}, "dev_fraction"),
    ({"dev_fraction": 1}, "dev_fraction"), ({"mode": "nope"}, "mode"), ({"re_head": 5}, "re_head"),
    ({"negatives": "zz"}, "negatives"), ({"seed": "x"}, "seed"), ({"patience": -1}, "patience"),
    ({"num_threads": -3}, "num_threads"), ({"auto_activate": "maybe"}, "auto_activate"),
    ({"encoder_config": [1]}, "encoder_config"), ({"encoder": 7}, "encoder"),
    ({"strategy": "astrology"}, "strategy"),
])
def test_model_options_of_the_wrong_type_or_range_are_400_and_nothing_is_stored(
        seeded, users, api_for, options, wrong):
    before = Project.objects.get(name="trial").model_options
    response = api_for(users["manager"]).put("/api/projects/trial/model-options/",
                                             {"options": options}, format="json")
    assert response.status_code == 400, response.json()
    message = response.json()["error"]["details"]["options"][0]
    assert message.startswith(f"{wrong} must be ")
    assert "int()" not in message and "float()" not in message
    assert Project.objects.get(name="trial").model_options == before


def test_valid_model_options_are_stored(seeded, users, api_for):
    options = {"epochs": 3, "lr": 3e-5, "num_threads": None, "dev_fraction": 0.25, "mode": "pipeline",
               "auto_activate": False, "encoder_config": {"hidden_size": 32}}
    response = api_for(users["manager"]).put("/api/projects/trial/model-options/",
                                             {"options": options}, format="json")
    assert response.status_code == 200, response.json()
    assert {k: response.json()["options"][k] for k in options} == options
