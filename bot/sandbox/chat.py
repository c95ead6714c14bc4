"""TEMPORARY placeholder for the sandbox chat page (being written)."""

from flask import Blueprint

bp = Blueprint("sandbox_chat", __name__)
