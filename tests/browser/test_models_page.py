"""The models page in a real browser, 1400 px wide: a refused Retrain reads as an error; a run
that stops early ends with a full bar while the versions table updates without a reload; the
charts fit their cards."""
import pytest
from playwright.sync_api import expect

from annotation.services import tasks as tasks_service
from annotation.services.training import training_run_execute, training_run_start
from tests.annotation.conftest import SMALL_SCHEMA
from tests.annotation.ml_fixtures import build_ml_project, early_stopping  # noqa: F401
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser

WIDE = {"width": 1400, "height": 900}
BAR_FILL = """() => {
  const bar = document.querySelector('.ml-run .ml-progress');
  return bar.firstElementChild.getBoundingClientRect().width / bar.clientWidth;
}"""
CHARTS_OUTSIDE_CARDS = """() => [...document.querySelectorAll('svg.ml-chart')].flatMap(svg => {
  const card = svg.closest('.ml-card'), c = card.getBoundingClientRect(), s = svg.getBoundingClientRect();
  const fits = s.left >= c.left && s.right <= c.right && card.scrollWidth <= card.clientWidth;
  return fits ? [] : [`${svg.getAttribute('aria-label')}: svg ${s.left}-${s.right}, card ${c.left}-${c.right}`];
})"""
COLOUR_OF = """(value) => {
  const probe = document.createElement('div');
  probe.style.backgroundColor = value;
  document.body.append(probe);
  const colour = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return colour;
}"""


@pytest.fixture
def ml_trial(transactional_db, monkeypatch):
    from django.contrib.auth import get_user_model

    from annotation.services.projects import membership_set, project_create

    monkeypatch.setattr(tasks_service, "task_send", lambda name, args, task_id=None: None)
    project = project_create(name="trial", title="Trial project", schema=SMALL_SCHEMA)
    membership_set(project=project, user=get_user_model().objects.create_user("mia", password=PASSWORD),
                   role="manager")
    return build_ml_project(project)


def test_retrain_refused_then_an_early_stopped_run_finishes_in_place(
        ml_trial, early_stopping, new_page, live_server, artifacts):
    page = new_page("mia")
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/projects/trial/models/")
    run = training_run_start(project=ml_trial)  # someone else pressed Retrain meanwhile

    page.get_by_role("button", name="Retrain").click()
    message = page.locator(".messages li", has_text="Retrain refused")
    expect(message).to_be_visible()
    expect(message).to_have_class("error")
    style = message.evaluate("li => [getComputedStyle(li).backgroundColor, getComputedStyle(li).borderTopColor]")
    assert style == [page.evaluate(COLOUR_OF, "var(--err-bg)"), page.evaluate(COLOUR_OF, "var(--danger)")]

    expect(page.locator(f"#run-{run.pk}")).to_have_attribute("data-status", "queued")
    expect(page.locator("#versions")).to_contain_text("No model yet")
    page.evaluate("window.eligoNotReloaded = true")
    training_run_execute(run_id=run.pk)  # the real trainer, stopping early at epoch 2 of 6

    progress = page.locator(f"#run-{run.pk}")
    expect(progress).to_have_attribute("data-status", "succeeded", timeout=15_000)
    expect(progress).to_contain_text("stopped early at epoch 2 of 6")
    page.wait_for_function(f"({BAR_FILL})() > 0.99")
    expect(page.locator('#versions tr[data-version="1"]')).to_be_visible()
    assert page.evaluate("window.eligoNotReloaded") is True
    page.screenshot(path=str(artifacts / "models-early-stop.png"), full_page=True)

    page.reload()
    expect(page.locator("svg.ml-chart").first).to_be_visible()
    assert page.locator("svg.ml-chart").count() >= 2
    assert page.evaluate(CHARTS_OUTSIDE_CARDS) == []
    page.screenshot(path=str(artifacts / "models-1400.png"), full_page=True)
