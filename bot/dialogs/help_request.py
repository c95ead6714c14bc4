"""TEMPORARY placeholder, replaced by the dialog implementation."""

from bot.dialogs import menu


def start(turn):
    return menu.show(turn)


def step(turn, state):
    return menu.show(turn)


my_requests = start
nearest = start
