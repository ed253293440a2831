"""A local webhook receiver for tests: records every POST it gets.

    python -m tests.servers.webhook_receiver --port 0 [--fail N]

prints ``READY http://127.0.0.1:PORT``. ``POST /hook`` (any path under it) records the
JSON body and headers and answers 204; with ``--fail N`` the first N calls get 503
(a receiver that is briefly down). ``GET /_control/calls`` lists what was recorded.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.servers.serving import serve_app


def create_app(fail: int) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    calls: list[dict[str, Any]] = []
    refused = {"n": 0}

    @app.post("/hook/{rest:path}")
    @app.post("/hook")
    async def hook(request: Request) -> Response:
        if refused["n"] < fail:
            refused["n"] += 1
            return Response(status_code=503)
        calls.append(
            {
                "path": request.url.path,
                "headers": dict(request.headers),
                "body": await request.json(),
            }
        )
        return Response(status_code=204)

    @app.get("/_control/calls")
    async def recorded() -> list[dict[str, Any]]:
        return calls

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail", type=int, default=0, help="answer 503 to the first N calls")
    args = parser.parse_args()
    asyncio.run(serve_app(create_app(args.fail), args.host, args.port))


if __name__ == "__main__":
    main()
