"""What LangGraph Studio's browser client needs beyond the SDK's calls: JSON bodies
sent as ``text/plain`` (a "simple" request that skips the CORS preflight), and the
Private Network Access preflight a public page needs to call a server on this machine."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.server.conftest import make_server_project
from tests.server.server_process import ServerProcess

STUDIO = "https://smith.langchain.com"


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """No key (loopback only), Studio's origin allowed, as README says to serve for it."""
    project = make_server_project(tmp_path_factory.mktemp("studio"), cors_origins=[STUDIO])
    with ServerProcess(project, "workflows") as proc:
        yield proc


def test_json_sent_as_text_plain_is_read_as_json(studio_server: ServerProcess) -> None:
    with studio_server.client() as http:
        text = {"content-type": "text/plain;charset=UTF-8", "origin": STUDIO}
        body = '{"limit":10,"offset":0,"metadata":{"created_by":"system"}}'
        found = http.post("/assistants/search", content=body, headers=text)
        assert found.status_code == 200, found.text
        assert found.headers["access-control-allow-origin"] == STUDIO
        graph_ids = {a["graph_id"] for a in found.json()}
        assert "basic_workflow" in graph_ids

        thread = http.post("/threads", content="{}", headers=text)
        assert thread.status_code == 200, thread.text
        run = http.post(
            f"/threads/{thread.json()['thread_id']}/runs/wait",
            content='{"assistant_id":"basic_workflow","input":{"input":"hi"}}',
            headers=text,
        )
        assert run.status_code == 200, run.text
        assert "HI" in run.json()["response"]

        # text that is not JSON is still refused by the route, with its reason
        bad = http.post("/assistants/search", content="limit=10", headers=text)
        assert bad.status_code == 422
        # from another page it is not read: no preflight guards a text/plain POST, and
        # any site the user visits must not start runs on a server on their machine
        evil = {**text, "origin": "https://evil.example"}
        assert http.post("/threads", content="{}", headers=evil).status_code == 422
        assert (
            http.post("/threads", content="{}", headers={**text, "origin": ""}).status_code == 422
        )


def test_private_network_preflight_is_answered_for_an_allowed_origin(
    studio_server: ServerProcess,
) -> None:
    asking = {
        "access-control-request-method": "POST",
        "access-control-request-private-network": "true",
        "access-control-request-headers": "content-type",
    }
    with httpx.Client(base_url=studio_server.url) as http:
        allowed = http.options("/assistants/search", headers={**asking, "origin": STUDIO})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-private-network"] == "true"
        other = http.options(
            "/assistants/search", headers={**asking, "origin": "https://x.example"}
        )
        assert other.status_code == 400  # another page: refused, whatever it asks
        assert "access-control-allow-origin" not in other.headers
