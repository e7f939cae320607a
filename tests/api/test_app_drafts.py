"""`POST /maps/draft`: a drafted map stored with how its goal was chosen and its coverage."""

from __future__ import annotations

from .conftest import API, Api, assert_problem


def test_a_draft_says_which_goal_it_chose_why_and_what_it_covers(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    response = api.client.post(f"{API}/maps/draft", json={"log": log_id})
    assert response.status_code == 201, response.text
    draft = response.json()["draft"]
    choice = draft["goal_choice"]
    assert choice["chosen_by"] == "draft" and choice["goals"]
    assert "it ends" in choice["reason"]
    assert {"activity", "journeys", "share"} <= set(choice["alternatives"][0])
    assert 0 < draft["coverage"] <= 1 and draft["journeys"] > 0


def test_named_goals_are_the_drafts_goals(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    body = {"log": log_id, "goals": ["add_to_cart"]}
    response = api.client.post(f"{API}/maps/draft", json=body)
    assert response.status_code == 201, response.text
    assert 'goal = ["add_to_cart"]' in response.json()["text"]
    assert response.json()["draft"]["goal_choice"]["chosen_by"] == "user"


def test_an_unknown_goal_is_a_422_and_stores_no_map(api: Api) -> None:
    log_id = api.ingest("web", identities=False)
    response = api.client.post(f"{API}/maps/draft", json={"log": log_id, "goals": ["add_to_crat"]})
    body = assert_problem(response, 422)
    assert (
        "goal 'add_to_crat' is not a touchpoint of the log; did you mean 'add_to_cart'"
        in (body["detail"])
    )
    assert api.client.get(f"{API}/maps").json()["maps"] == []
