"""browser-use's observation of each corpus page, without any LLM.

For every page: navigate, take `BrowserSession.get_browser_state_summary()`
(what the agent takes before each step) and render the browser-state part of
the agent's user message with `AgentMessagePrompt._get_browser_state_description()`
(the DOM serializer's `llm_representation` plus page/scroll/tab info) -- the
state browser-use sends its model. Saves OUT/<page>.txt and OUT/<page>.json
({"interactive": n, "by_tag": {...}}).

usage: python browser_use_state.py BASE_URL OUT_DIR WIDTHxHEIGHT page...
"""

import asyncio
import json
import os
import sys
import tempfile

from browser_use.agent.prompts import AgentMessagePrompt
from browser_use.browser import BrowserProfile, BrowserSession
from browser_use.browser.profile import ViewportSize
from browser_use.dom.views import DEFAULT_INCLUDE_ATTRIBUTES
from browser_use.filesystem.file_system import FileSystem


async def main() -> None:
    base, out_dir, viewport, *pages = sys.argv[1:]
    width, height = (int(v) for v in viewport.lower().split("x"))
    os.makedirs(out_dir, exist_ok=True)
    session = BrowserSession(
        browser_profile=BrowserProfile(
            executable_path=os.environ.get("WAYFARER_CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            viewport=ViewportSize(width=width, height=height),
            window_size=ViewportSize(width=width, height=height),
            chromium_sandbox=False,
            user_data_dir=None,
            wait_for_network_idle_page_load_time=0.5,
            minimum_wait_page_load_time=0.25,
        )
    )
    await session.start()
    fs = FileSystem(base_dir=tempfile.mkdtemp(prefix="bu-fs-"))
    try:
        for page in pages:
            await session.navigate_to(f"{base}/{page}/index.html")
            state = await session.get_browser_state_summary(include_screenshot=False)
            prompt = AgentMessagePrompt(
                browser_state_summary=state,
                file_system=fs,
                include_attributes=DEFAULT_INCLUDE_ATTRIBUTES,
                step_info=None,
            )
            text = prompt._get_browser_state_description()
            by_tag: dict[str, int] = {}
            for node in state.dom_state.selector_map.values():
                tag = (node.tag_name or "").lower()
                by_tag[tag] = by_tag.get(tag, 0) + 1
            with open(os.path.join(out_dir, f"{page}.txt"), "w", encoding="utf-8") as f:
                f.write(text)
            with open(os.path.join(out_dir, f"{page}.json"), "w", encoding="utf-8") as f:
                json.dump({"interactive": len(state.dom_state.selector_map), "by_tag": by_tag}, f)
            print(f"browser-use {page}", file=sys.stderr)
    finally:
        await session.kill()


asyncio.run(main())
