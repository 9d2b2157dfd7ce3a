"""A project settings module the way a user writes one: Python values, not strings.

``SCRAPY_SETTINGS_MODULE=tests.support.python_settings`` with
``LINKSPIDER_TEST_SETTINGS='{"NAME": value, ...}'`` (JSON) runs ``scrapy``
with the project's settings plus those values, typed as JSON types (a dict,
a number), which ``-s NAME=value`` cannot give (it always gives a string).
"""

from __future__ import annotations

import json
import os

from linkspider.settings import *  # noqa: F403

globals().update(json.loads(os.environ.get("LINKSPIDER_TEST_SETTINGS", "{}")))
