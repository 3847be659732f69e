"""Typed application state (aiohttp AppKeys) shared by the node's handlers."""

from aiohttp import web

from kinode.federation.connections import ConnectionGuard
from kinode.federation.limits import Limits
from kinode.federation.request_body import BodyBudget
from kinode.node import Node
from kinode.federation.replay_cache import ReplayCache

NODE = web.AppKey("node", Node)
LIMITS = web.AppKey("limits", Limits)
REPLAYS = web.AppKey("replays", ReplayCache)
GUARD = web.AppKey("connections", ConnectionGuard)
BUDGET = web.AppKey("body_budget", BodyBudget)
