<%!
def quoted(value):
    """A revision id, or a tuple of them, in the double quotes ruff would write."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return '"%s"' % value
    items = ['"%s"' % v for v in value]
    return "(%s)" % (items[0] + "," if len(items) == 1 else ", ".join(items))
%>"""${message}

Revision ID: ${up_revision}
% if down_revision:
Revises: ${down_revision | comma,n}
% endif
Create Date: ${create_date}
"""

import sqlalchemy as sa
from alembic import op
% if imports:
${imports}
% endif

revision = ${quoted(up_revision)}
down_revision = ${quoted(down_revision)}
branch_labels = ${quoted(branch_labels)}
depends_on = ${quoted(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
