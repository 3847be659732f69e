"""Typed application state of the UI app."""

import aiohttp
from aiohttp import web

from kinode.node import Node

NODE = web.AppKey("node", Node)
CLIENT = web.AppKey("client", aiohttp.ClientSession)  # for the node's own hubs (operator-given URLs)
