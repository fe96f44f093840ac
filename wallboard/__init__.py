"""The ward wallboard (CONTRACT §8): live ward state from the broker, over HTTP and websockets.

`WardBoard` is the pure state; `BrokerFeed` keeps one up to date from MQTT and fans its
changes out to subscribers; `create_app` serves it; `serve` runs the app in the current event
loop (`bind` gives the port before it starts).
"""

from wallboard._app import History, create_app
from wallboard._feed import HEARTBEAT_TOPIC, BrokerFeed, Subscription
from wallboard._server import bind, serve
from wallboard._state import Change, Rejection, WardBoard

__all__ = [
    "HEARTBEAT_TOPIC",
    "BrokerFeed",
    "Change",
    "History",
    "Rejection",
    "Subscription",
    "WardBoard",
    "bind",
    "create_app",
    "serve",
]
